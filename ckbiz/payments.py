"""Payment gateway notifications: POST /payments/<gateway>/callback (signed, not CSRF)."""
from flask import Blueprint, abort, current_app, jsonify

from . import card_payments, deliveries, gateways
from .extensions import csrf

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
        outcome, rows = card_payments.apply(adapter.name, notice)
    except gateways.NotificationError as exc:
        current_app.logger.warning("payment notification refused: %s", exc)
        return jsonify({"error": str(exc)}), 400
    deliveries.enqueue(rows)
    status = 400 if outcome == "mismatch" else 200
    return jsonify({"outcome": outcome}), status
