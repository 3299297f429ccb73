"""Payment gateway notifications: POST /payments/<gateway>/callback (signed or checked, not CSRF)."""
from flask import Blueprint, abort, current_app, jsonify

from .. import gateways, tasks
from ..domain import cards
from ..extensions import csrf
from ..gateways.base import NotificationError, ProviderError

bp = Blueprint("payments", __name__)


@bp.post("/payments/<gateway>/callback")
@csrf.exempt
def callback(gateway):
    """Verify, apply once, answer as the provider expects only after the change committed."""
    try:
        adapter = gateways.by_name(gateway)
    except LookupError:
        abort(404)
    try:
        notice = adapter.notification()
        outcome, rows = cards.apply(adapter.name, notice) if notice else ("ignored", [])
    except NotificationError as exc:
        current_app.logger.warning("payment notification refused: %s", exc)
        return jsonify({"error": str(exc)}), 400
    except ProviderError as exc:
        # The notification could not be checked with the provider: not a 2xx, so it comes again.
        current_app.logger.warning("payment notification not checked: %s", exc)
        return jsonify({"error": "provider unavailable"}), 503 if exc.unknown else 400
    tasks.send(rows)
    return adapter.reply(outcome)
