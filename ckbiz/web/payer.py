"""The payer's side (§4.8, §2.4): the public invoice page behind the unguessable link, the
payment QR, the card payment's start, and the demo gateway's test-mode card form."""
import io
import re

from flask import Blueprint, Response, abort, redirect, render_template, request, send_file, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, ValidationError
from wtforms.validators import InputRequired, Length, Regexp

from .. import documents, gateways, tasks
from ..database import Prepared, utcnow
from ..delivery.messages import invoice_context
from ..domain import cards, qr
from ..domain.lifecycle import payable
from ..forms import Form
from ..gateways import demo
from ..htmx import wants_fragment
from ..models import Invoice, InvoiceEvent, Merchant, Payment
from .security import csp

bp = Blueprint("payer", __name__)
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SUBMITTED = "demo_payments_submitted"
STATUS_ID = "payment-status"  # «Платеж обрабатывается», polled until the payment is answered

NO_INDEX = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store"}


@Prepared
def invoice_by_token(token, since):
    """The invoice behind a link with its merchant (the page shows times in the merchant's zone)
    and whether a payment is in flight («Платеж обрабатывается»): one query, built once."""
    return (Invoice.select(Invoice, Merchant, cards.in_flight(Invoice.id, since).alias("in_flight"))
            .join(Merchant).where(Invoice.token == token).limit(1))


def get_invoice_by_token(token):
    """The invoice behind a payer link; 404 for an unknown or malformed token."""
    if not TOKEN.fullmatch(token or ""):
        abort(404)
    invoice = invoice_by_token.first(token, cards.in_flight_since())
    if invoice is None:
        abort(404)
    return invoice


def payer_page(invoice, status=200, error=None):
    """The invoice as the payer sees it, with the pay button while it can be paid; a disabled
    merchant's invoices say so and offer no way to pay.

    The pay form leads to the provider's page through our 303, and the browser checks
    form-action against every step of that way.
    """
    open_now, active = payable(invoice), invoice.merchant.active
    can_pay = open_now and active
    if open_now and not active:
        error = error or cards.MERCHANT_DISABLED
    html = render_template("payer/show.html", payable=can_pay, processing=can_pay and bool(invoice.in_flight),
                           methods=gateways.methods(),
                           error=error, status_id=STATUS_ID, **invoice_context(invoice))
    return html, status, {**NO_INDEX, "Content-Security-Policy": csp(gateways.form_origins())}


def payment_status(invoice):
    """The polled «Платеж обрабатывается» while it holds; once answered, htmx reloads the page."""
    if payable(invoice) and invoice.in_flight:
        return render_template("payer/_processing.html", invoice=invoice, status_id=STATUS_ID), 200, NO_INDEX
    return "", 200, {**NO_INDEX, "HX-Refresh": "true"}


@bp.get("/i/<token>")
def show(token):
    """The invoice as the payer sees it; the first view is recorded for the merchant."""
    invoice = get_invoice_by_token(token)
    if wants_fragment(STATUS_ID):
        return payment_status(invoice)
    merchant_looking = current_user.is_authenticated and current_user.merchant_id == invoice.merchant_id
    if invoice.viewed_at is None and not merchant_looking:
        now = utcnow()
        first = (Invoice.update(viewed_at=now)
                 .where(Invoice.id == invoice.id, Invoice.viewed_at.is_null()).execute())
        if first:
            InvoiceEvent.create(invoice=invoice, kind="viewed", at=now)
    return payer_page(invoice)


@bp.post("/i/<token>/pay")
def pay(token):
    """«Оплатить банковской картой»: start a payment and go to the gateway's card form."""
    invoice = get_invoice_by_token(token)
    method = request.form.get("method", "card")
    if method not in gateways.methods():
        abort(400)
    try:
        _, url = cards.start(invoice, method)
    except cards.PaymentRefused as exc:
        return payer_page(invoice, 409, error=str(exc))
    except cards.ProviderUnavailable as exc:
        return payer_page(invoice, 502, error=str(exc))
    return redirect(url, 303)


@bp.get("/i/<token>/qr.png")
def qr_png(token):
    """The GOST R 56042-2014 payment QR for a bank transfer of the invoice amount."""
    invoice = get_invoice_by_token(token)
    if not payable(invoice) or not invoice.merchant.active:
        abort(404)
    image = qr.png(qr.for_invoice(invoice))
    return Response(image, mimetype="image/png", headers={**NO_INDEX, "Cache-Control": "private, max-age=300"})


@bp.get("/i/<token>/invoice.pdf")
def invoice_pdf(token):
    """«Скачать счет (PDF)»: the «Счет на оплату», for every status but cancelled."""
    invoice = get_invoice_by_token(token)
    if invoice.status == "cancelled":
        abort(404)
    response = pdf_file(invoice)
    response.headers.update(NO_INDEX)
    return response


def pdf_file(invoice):
    """The invoice's PDF as a response the browser shows, or saves under schet-<number>.pdf."""
    return send_file(io.BytesIO(documents.invoice_pdf(invoice)), mimetype="application/pdf",
                     download_name=documents.filename(invoice))


class CardForm(Form):
    number = StringField(_l("Номер карты"), validators=[InputRequired(_l("Введите номер карты"))])
    expiry = StringField(_l("Срок действия (ММ/ГГ)"), validators=[InputRequired(_l("Введите срок действия"))])
    cvc = StringField(_l("CVC"), validators=[Regexp(r"^\d{3,4}$", message=_l("3 или 4 цифры с обратной стороны карты"))])
    holder = StringField(_l("Имя владельца"), validators=[InputRequired(_l("Введите имя, как на карте")), Length(max=60)])

    def validate_number(self, field):
        if not demo.luhn_ok(self.digits):
            raise ValidationError(_l("Номер карты введен с ошибкой"))

    def validate_expiry(self, field):
        if not demo.expiry_ok(field.data or ""):
            raise ValidationError(_l("Срок действия карты истек или указан неверно"))

    @property
    def digits(self):
        """The card number without spaces and dashes."""
        return "".join(ch for ch in (self.number.data or "") if ch not in " -")


def get_demo_payment(provider_payment_id):
    """The demo payment and its invoice; 404 for an unknown id."""
    payment = Payment.get_or_none(Payment.gateway == demo.DemoGateway.name,
                                  Payment.provider_payment_id == provider_payment_id)
    if payment is None:
        abort(404)
    return payment, Invoice.get_by_id(payment.invoice_id)


@bp.route("/pay/demo/<payment>", methods=["GET", "POST"])
def demo_card(payment):
    """The demo gateway's card form, then the result page that refreshes until it has answered."""
    payment, invoice = get_demo_payment(payment)
    submitted = payment.provider_payment_id in session.get(SUBMITTED, [])
    form = CardForm()
    if payment.status == "pending" and not submitted and form.validate_on_submit():
        approved = form.digits != demo.DECLINED_CARD
        # Queued first: should the queue be down (a 503), the payer may submit again
        # instead of waiting on "the bank" for an answer that was never asked for.
        tasks.notify_demo_payment(payment.provider_payment_id, "succeeded" if approved else "failed")
        session[SUBMITTED] = [*session.get(SUBMITTED, [])[-9:], payment.provider_payment_id]
        return redirect(url_for("payer.demo_card", payment=payment.provider_payment_id), 303)
    status = 422 if form.errors else 200
    return render_template("payer/demo_card.html", form=form, payment=payment, invoice=invoice,
                           submitted=submitted or payment.status != "pending"), status
