"""Payment gateway notifications: POST /payments/<gateway>/callback (signed or checked, not CSRF)."""
from flask import Blueprint, abort, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import gateways, tasks
from ..domain import cards
from ..extensions import csrf
from ..gateways.base import NotificationError, ProviderError

bp = Blueprint("payments", __name__)


@bp.url_value_preprocessor
def cap_notification_size(endpoint, values):
    """Read at most PAYMENT_CALLBACK_MAX_BYTES of a notification, before any hook or the
    signature check reads it; a chunked body has no length to refuse up front, so Werkzeug
    stops reading at the limit."""
    request.max_content_length = int(current_app.config["PAYMENT_CALLBACK_MAX_BYTES"])


@bp.post("/payments/<gateway>/callback")
@csrf.exempt
def callback(gateway):
    """Verify, apply once, answer as the provider expects only after the change committed."""
    _read_within_cap()
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


def _read_within_cap():
    """Read (and cache, for the gateway) the body up to the cap. A chunked body stops at the cap
    without an error, so one more byte is asked for: past the cap, that raises the 413."""
    if len(request.get_data(cache=True)) >= request.max_content_length:
        request.stream.read(1)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A notification past PAYMENT_CALLBACK_MAX_BYTES: refused unread, in the gateway's JSON."""
    return jsonify({"error": "request body too large"}), 413
