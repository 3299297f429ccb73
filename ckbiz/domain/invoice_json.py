"""An invoice as the merchant's systems see it (DESIGN "Merchant API and webhooks"): the one
shape the API answers with and webhooks carry, so the two never drift apart."""
from datetime import timezone

from ..links import public_url
from ..models import Invoice
from .money import to_decimal

# What as_json reads: a list selects these alone (the copy of the service stays unread).
COLUMNS = (Invoice.id, Invoice.number, Invoice.status, Invoice.amount_kop, Invoice.commission_kop,
           Invoice.payer_phone, Invoice.payer_email, Invoice.requisites, Invoice.positions, Invoice.comment,
           Invoice.service, Invoice.token, Invoice.issued_at, Invoice.expires_at, Invoice.paid_at)


def as_json(invoice):
    """The invoice as a JSON-ready dict: amounts as decimal strings (never floats), times as
    ISO 8601 UTC, the status by its English name, the phone as +7…, the payer link as `url`."""
    return {
        "number": invoice.number,
        "status": invoice.status,
        "amount": str(to_decimal(invoice.amount_kop)),
        "commission": str(to_decimal(invoice.commission_kop)),
        "payer": {"phone": f"+7{invoice.payer_phone}" if invoice.payer_phone else None,
                  "email": invoice.payer_email or None},
        "requisites": {field["name"]: field["value"] for field in invoice.requisites},
        "positions": [{"name": p["name"], "quantity": p["quantity"], "unit": p["unit"],
                       "price": str(to_decimal(p["price_kop"])), "vat": p["vat"]} for p in invoice.positions],
        "comment": invoice.comment,
        "service_id": invoice.service_id,
        "url": public_url("payer.show", token=invoice.token),
        "issued_at": utc_text(invoice.issued_at),
        "expires_at": utc_text(invoice.expires_at),
        "paid_at": utc_text(invoice.paid_at),
    }


def utc_text(moment):
    """A naive UTC time of the database as ISO 8601 with its zone, to the second; None stays None."""
    if moment is None:
        return None
    return moment.replace(microsecond=0, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
