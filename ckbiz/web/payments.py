"""Payment gateway notifications: POST /payments/<gateway>/callback (signed, not CSRF)."""
from flask import Blueprint, abort, current_app, jsonify

from .. import gateways, tasks
from ..domain import cards
from ..extensions import csrf
from ..gateways.base import NotificationError

bp = Blueprint("payments", __name__)


@bp.post("/payments/<gateway>/callback")
@csrf.exempt
def callback(gateway):
    """Verify, apply once, answer 2xx only after the change committed."""
    try:
        adapter = gateways.by_name(gateway)
    except LookupError:
        abort(404)
    try:
        notice = adapter.notification()
        outcome, rows = cards.apply(adapter.name, notice)
    except NotificationError as exc:
        current_app.logger.warning("payment notification refused: %s", exc)
        return jsonify({"error": str(exc)}), 400
    tasks.send(rows)
    status = 400 if outcome == "mismatch" else 200
    return jsonify({"outcome": outcome}), status
