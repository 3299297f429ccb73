"""The demo gateway: a clearly marked test-mode card form that confirms like a real gateway.

Any Luhn-valid number is approved except 4000 0000 0000 0002, which is declined.
The confirmation is a signed POST to our own callback, sent from a queue task.
"""
import json
import re
import secrets
import urllib.error
import urllib.request
from datetime import date

from flask import current_app, jsonify, request, url_for

from ..links import public_url
from ..models import Invoice, Payment
from .base import SIGNATURE_HEADER, Notification, NotificationError, Started, sign, verify

DECLINED_CARD = "4000000000000002"


def luhn_ok(number):
    """True for a 12–19 digit number with a valid Luhn check digit."""
    if not re.fullmatch(r"\d{12,19}", number):
        return False
    total = 0
    for i, digit in enumerate(int(d) for d in reversed(number)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def expiry_ok(text, today=None):
    """True for MM/YY (or MM/YYYY) not in the past."""
    match = re.fullmatch(r"(0[1-9]|1[0-2])\s*/\s*(\d{2}|\d{4})", text.strip())
    if not match:
        return False
    month, year = int(match.group(1)), int(match.group(2))
    year = year + 2000 if year < 100 else year
    today = today or date.today()
    return (year, month) >= (today.year, today.month)


class DemoGateway:
    """Test mode: no money moves."""

    name = "demo"
    sbp = False
    form_origins = ()
    api_url_key = None

    def start(self, invoice, payment, receipt=None):
        """Our own card form (no money, so no receipt)."""
        return Started(payment.provider_payment_id,
                       url_for("payer.demo_card", payment=payment.provider_payment_id))

    def refund(self, payment):
        """No money moved, so the return is only recorded."""

    def lookup(self, payment):
        """Nobody to ask: the demo card form always sends its notification."""
        return None

    @staticmethod
    def reply(outcome):
        """The outcome as JSON; a wrong amount is refused like a bad body."""
        return jsonify({"outcome": outcome}), 400 if outcome == "mismatch" else 200

    @staticmethod
    def new_payment_id():
        """An id like a provider's."""
        return "demo_" + secrets.token_urlsafe(16)

    def notification(self, req=None):
        """Verify the signed JSON body and read it; NotificationError otherwise."""
        req = req or request
        body = req.get_data(cache=True)
        verify(body, req.headers.get(SIGNATURE_HEADER), current_app.config["PAYMENT_SECRET"])
        try:
            data = json.loads(body)
            return Notification(
                event_id=str(data["event_id"]), payment_id=str(data["payment_id"]),
                invoice_token=str(data["invoice_token"]), amount_kop=int(data["amount_kop"]),
                currency=str(data["currency"]), status=str(data["status"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationError("malformed notification body") from exc


def send_notification(provider_payment_id, status):
    """POST the signed notification for a payment to our callback; raise to retry on failure."""
    payment = Payment.get(Payment.gateway == DemoGateway.name, Payment.provider_payment_id == provider_payment_id)
    invoice = Invoice.get_by_id(payment.invoice_id)
    body = json.dumps({
        "event_id": "evt_" + secrets.token_urlsafe(12), "payment_id": provider_payment_id,
        "invoice_token": invoice.token, "amount_kop": payment.amount_kop, "currency": payment.currency,
        "status": status, "created_at": payment.created_at.isoformat() + "Z",
    }).encode()
    post = urllib.request.Request(
        public_url("payments.callback", gateway=DemoGateway.name), data=body, method="POST",
        headers={"Content-Type": "application/json",
                 SIGNATURE_HEADER: sign(body, current_app.config["PAYMENT_SECRET"])})
    try:
        with urllib.request.urlopen(post, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500:
            current_app.logger.warning("demo notification refused: %s", exc.code)
            return exc.code  # refused for good: retrying the same body cannot help
        raise
