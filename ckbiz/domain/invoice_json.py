"""An invoice as the merchant API and the webhooks show it (DESIGN "Merchant API and webhooks"):
amounts as decimal strings, times as ISO 8601 UTC, statuses by their English names."""
from ..links import public_url
from ..models import Invoice
from .money import to_decimal

# What invoice_json reads: a list selects these alone (the copy of the service stays unread).
COLUMNS = (Invoice.id, Invoice.number, Invoice.status, Invoice.amount_kop, Invoice.commission_kop,
           Invoice.payer_phone, Invoice.payer_email, Invoice.requisites, Invoice.positions, Invoice.comment,
           Invoice.service, Invoice.token, Invoice.issued_at, Invoice.expires_at, Invoice.paid_at)


def invoice_json(invoice):
    """The JSON-ready dict of one invoice."""
    return {
        "number": invoice.number,
        "status": invoice.status,
        "amount": str(to_decimal(invoice.amount_kop)),
        "commission": str(to_decimal(invoice.commission_kop)),
        "payer": {"phone": invoice.payer_phone, "email": invoice.payer_email},
        "requisites": {r["name"]: r["value"] for r in invoice.requisites},
        "positions": [{"name": p["name"], "quantity": p["quantity"], "unit": p["unit"],
                       "price": str(to_decimal(p["price_kop"])), "vat": p["vat"]} for p in invoice.positions],
        "comment": invoice.comment,
        "service_id": invoice.service_id,
        "url": public_url("payer.show", token=invoice.token),
        "issued_at": iso(invoice.issued_at),
        "expires_at": iso(invoice.expires_at),
        "paid_at": iso(invoice.paid_at),
    }


def iso(moment):
    """A stored naive UTC time as ISO 8601 with its zone: «2026-11-27T09:30:00Z»."""
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"
