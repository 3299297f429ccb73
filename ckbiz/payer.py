"""The payer's side (§4.8, §2.4): the public invoice page behind the unguessable link."""
from flask import Blueprint, abort, render_template
from flask_login import current_user

from . import messages
from .database import utcnow
from .models import Invoice, InvoiceEvent

bp = Blueprint("payer", __name__)

NO_INDEX = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store"}


def get_invoice_by_token(token):
    """The invoice behind a payer link; 404 for an unknown or malformed token."""
    if not token or len(token) > 64:
        abort(404)
    invoice = Invoice.get_or_none(Invoice.token == token)
    if invoice is None:
        abort(404)
    return invoice


@bp.get("/i/<token>")
def show(token):
    """The invoice as the payer sees it; the first view is recorded for the merchant."""
    invoice = get_invoice_by_token(token)
    merchant_looking = current_user.is_authenticated and current_user.id == invoice.merchant_id
    if invoice.viewed_at is None and not merchant_looking:
        now = utcnow()
        first = (Invoice.update(viewed_at=now)
                 .where(Invoice.number == invoice.number, Invoice.viewed_at.is_null()).execute())
        if first:
            InvoiceEvent.create(invoice=invoice, kind="viewed", at=now)
    payable = invoice.status == "issued" and invoice.expires_at > utcnow()
    context = messages.invoice_context(invoice)
    return render_template("payer/show.html", payable=payable, **context), 200, NO_INDEX
