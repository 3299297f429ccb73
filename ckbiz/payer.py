"""The payer's side (§4.8, §2.4): the public invoice page behind the unguessable link."""
import re

from flask import Blueprint, Response, abort, redirect, render_template
from flask_login import current_user

from . import card_payments, messages, qr
from .database import utcnow
from .models import Invoice, InvoiceEvent, Merchant

bp = Blueprint("payer", __name__)
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

NO_INDEX = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store"}


def get_invoice_by_token(token):
    """The invoice behind a payer link; 404 for an unknown or malformed token."""
    if not TOKEN.fullmatch(token or ""):
        abort(404)
    # The merchant's zone comes along: the page shows times in it (one query, not two).
    invoice = (Invoice.select(Invoice, Merchant).join(Merchant)
               .where(Invoice.token == token).get_or_none())
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
    context = messages.invoice_context(invoice)
    return render_template("payer/show.html", payable=card_payments.payable(invoice), **context), 200, NO_INDEX


@bp.post("/i/<token>/pay")
def pay(token):
    """«Оплатить банковской картой»: start a payment and go to the gateway's card form."""
    invoice = get_invoice_by_token(token)
    try:
        _, url = card_payments.start(invoice)
    except card_payments.PaymentRefused:
        context = messages.invoice_context(invoice)
        return render_template("payer/show.html", payable=False, **context), 409, NO_INDEX
    return redirect(url, 303)


@bp.get("/i/<token>/qr.png")
def qr_png(token):
    """The GOST R 56042-2014 payment QR for a bank transfer of the invoice amount."""
    invoice = get_invoice_by_token(token)
    if not card_payments.payable(invoice):
        abort(404)
    image = qr.png(bank_transfer_payload(invoice))
    return Response(image, mimetype="image/png", headers={**NO_INDEX, "Cache-Control": "private, max-age=300"})


def bank_transfer_payload(invoice):
    """The QR text: payee, amount without card commission, purpose with the key requisite."""
    purpose = qr.purpose_text(invoice.number, invoice.key_label, invoice.key_value)
    return qr.payload(invoice.issued_with["payee"], invoice.amount_kop, purpose)
