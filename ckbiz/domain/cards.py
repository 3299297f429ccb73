"""Card payments: starting one for an invoice, applying the gateway's notification, settling.

Money is never dropped: a payment confirmed for an invoice that can no longer be
paid is recorded, flagged for a refund, and the merchant is told.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import SQL, IntegrityError, fn

from .. import gateways
from ..database import utcnow
from ..extensions import db
from ..gateways.base import NotificationError, ProviderError
from ..models import Invoice, InvoiceEvent, Payment, PaymentNotification
from . import outbox, receipts
from .lifecycle import STATUS_LABELS, bulk_move, payable


# A payment is looked up at its provider only this long: ЮKassa keeps an idempotency key a
# day, a T-Bank payment form lives a day, so an older pending payment was never paid.
RECONCILE_WINDOW = timedelta(days=2)
# ЮKassa replays an idempotency key's first answer for 24 hours: a retry well inside that.
KEY_REUSE_WINDOW = timedelta(hours=12)


class PaymentRefused(Exception):
    """The payer cannot pay this invoice now; the message says why."""


MERCHANT_DISABLED = _l("Получатель платежа сейчас не принимает оплату через ЦК Бизнес. "
                       "Свяжитесь с ним, чтобы оплатить счет.")


class ProviderUnavailable(Exception):
    """The provider did not start the payment; the invoice stays payable, the message says so."""


def start(invoice, method="card"):
    """A pending payment of amount + commission, started at the gateway; returns (payment, URL).

    Each click is a payment row of its own, except after a provider that may have acted
    without answering (a timeout, a 5xx): the next click sends the same idempotency key
    again, so that unanswered attempt can never become a second charge.
    """
    if not payable(invoice):
        raise PaymentRefused(_("Этот счет уже нельзя оплатить."))
    if not invoice.merchant.active:
        raise PaymentRefused(MERCHANT_DISABLED)
    # A declined card may be tried again, but a button pressed fifty times is not fifty payments.
    recent = Payment.select().where(Payment.invoice == invoice.id,
                                    Payment.created_at > utcnow() - timedelta(minutes=1)).count()
    if recent >= int(current_app.config["PAYMENT_STARTS_PER_MINUTE"]):
        raise PaymentRefused(_("Слишком много попыток оплаты за минуту. Подождите минуту и попробуйте снова."))
    gateway = gateways.current()
    payment = _unanswered(invoice, gateway.name, method) or Payment.create(
        invoice=invoice, gateway=gateway.name, method=method, provider_payment_id=gateway.new_payment_id(),
        amount_kop=invoice.amount_kop + invoice.commission_kop, currency="RUB")
    try:
        started = gateway.start(invoice, payment, receipts.for_payment(invoice))
    except ProviderError as exc:
        current_app.logger.warning("payment %s not started at %s: %s", payment.id, gateway.name, exc)
        if exc.unknown:
            Payment.update(unanswered_at=utcnow()).where(Payment.id == payment.id).execute()
        else:  # refused for good: the next click starts afresh
            Payment.update(status="failed").where(Payment.id == payment.id, Payment.status == "pending").execute()
        raise ProviderUnavailable(_("Банк сейчас не отвечает, деньги не списаны. Попробуйте еще раз "
                                    "через минуту или оплатите переводом по QR-коду.")) from exc
    Payment.update(provider_ref=started.provider_ref).where(Payment.id == payment.id).execute()
    return payment, started.url


def _unanswered(invoice, gateway_name, method):
    """The invoice's latest pending payment whose start the provider never answered, if recent
    (and of the same method: the same key with another request is an error at the provider).

    Not one whose start another request is still waiting for: its payer is on the way to the
    provider, and a second payer clicking at that moment gets a payment of their own."""
    return (Payment.select()
            .where(Payment.invoice == invoice.id, Payment.gateway == gateway_name, Payment.method == method,
                   Payment.status == "pending", Payment.provider_ref == "", Payment.unanswered_at.is_null(False),
                   Payment.created_at > utcnow() - KEY_REUSE_WINDOW)
            .order_by(Payment.id.desc()).first())


def in_flight(invoice_id, since):
    """True while a payment the payer was sent to pay is still unanswered (and not abandoned):
    an EXISTS to select along with the invoice (`Invoice.id`), which spares the payer page a
    round trip of its own. `since` is in_flight_since(), a value of its own so that a query
    built once can take the time of each request."""
    return fn.EXISTS(Payment.select(SQL("1"))
                     .where(Payment.invoice == invoice_id, Payment.status == "pending", Payment.provider_ref != "",
                            Payment.created_at > since))


def in_flight_since():
    """The oldest a payment still in flight may be: older ones reconcile no more."""
    return utcnow() - RECONCILE_WINDOW


def apply(gateway_name, notice):
    """Apply one verified notification; returns (outcome, outbox rows to queue after commit).

    Outcomes: pending (nothing to apply yet), duplicate, already, failed, mismatch, paid,
    refund. Raises NotificationError (nothing written) for an unknown payment or a payment
    of another invoice.
    """
    if notice.status == "pending":
        return "pending", []
    with db.atomic():
        try:
            with db.atomic():
                PaymentNotification.create(gateway=gateway_name, event_id=notice.event_id)
        except IntegrityError:
            return "duplicate", []
        payment = Payment.get_or_none(Payment.gateway == gateway_name,
                                      Payment.provider_payment_id == notice.payment_id)
        if payment is None:
            raise NotificationError("unknown payment")
        invoice = Invoice.get_by_id(payment.invoice_id)
        if notice.invoice_token is not None and invoice.token != notice.invoice_token:
            raise NotificationError("the payment belongs to another invoice")
        if notice.status == "failed":
            Payment.update(status="failed").where(Payment.id == payment.id, Payment.status == "pending").execute()
            return "failed", []
        if notice.status != "succeeded":
            raise NotificationError("unknown payment status")
        if notice.amount_kop != payment.amount_kop or notice.currency != payment.currency:
            return "mismatch", _flag(payment, invoice, "mismatch",
                                     f"{notice.amount_kop} {notice.currency} ≠ {payment.amount_kop} {payment.currency}")
        now = utcnow()
        confirmed = (Payment.update(status="succeeded", confirmed_at=now)
                     .where(Payment.id == payment.id, Payment.status == "pending").execute())
        if not confirmed:
            return "already", []
        # A wrong amount told earlier is settled by this valid notification of the right one.
        Payment.update(attention="").where(Payment.id == payment.id, Payment.attention.startswith("mismatch:")).execute()
        return _mark_paid(payment, invoice, now)


def _mark_paid(payment, invoice, now):
    """Issued (or expired after this payment began) becomes paid; anything else needs a refund."""
    moved = (Invoice.update(status="paid", paid_by="card", paid_at=now, status_changed_at=now, status_changed_by="")
             .where(Invoice.id == invoice.id,
                    (Invoice.status == "issued")
                    | ((Invoice.status == "expired") & (Invoice.expires_at > payment.created_at)))
             .execute())
    if not moved:
        return "refund", _flag(payment, invoice, "refund", _("счет в статусе «%(s)s»", s=STATUS_LABELS[invoice.status]))
    InvoiceEvent.create(invoice=invoice.id, kind="paid", at=now, note=_("картой"))
    rows = _merchant_notice(invoice, "paid_notice") + outbox.webhook(invoice.merchant_id, invoice.id, "invoice.paid")
    if invoice.payer_email:
        rows.append(outbox.add(invoice.merchant_id, invoice.id, "email", "payment_received", invoice.payer_email))
    return "paid", rows


def _flag(payment, invoice, reason, detail):
    """Record why a person must look at this payment, and tell the merchant."""
    flags = {"attention": f"{reason}: {detail}"[:250]}
    if reason == "refund":  # it waits as "due": the history's banner finds it by an index
        flags["refund_state"] = "due"
    Payment.update(**flags).where(Payment.id == payment.id).execute()
    InvoiceEvent.create(invoice=invoice.id, kind=f"payment_{reason}", note=detail[:250])
    current_app.logger.warning("payment %s needs attention: %s %s", payment.id, reason, detail)
    # Money to check or return is told by SMS to the owner when the merchant has no e-mail.
    rows = outbox.for_merchant(invoice.merchant, invoice.id, f"{reason}_notice",
                               sms_fallback=True)
    if reason == "refund":
        rows += outbox.webhook(invoice.merchant_id, invoice.id, "payment.refund_needed")
    return rows


def _merchant_notice(invoice, kind):
    """An e-mail about the invoice to the merchant, if it has an address."""
    return outbox.for_merchant(invoice.merchant, invoice.id, kind)


def reconcile(now=None):
    """Ask each payment's own provider about payments pending too long; apply the answers.

    Returns (payments changed, outbox rows to queue after commit). A provider that cannot be
    asked changes nothing: its payments are asked again at the next run.
    """
    now = now or utcnow()
    after = timedelta(minutes=int(current_app.config["RECONCILE_AFTER_MINUTES"]))
    due = (Payment.select()
           .where(Payment.status == "pending", Payment.provider_ref != "",
                  Payment.created_at <= now - after, Payment.created_at > now - RECONCILE_WINDOW)
           .order_by(Payment.id))
    changed, rows = 0, []
    for payment in list(due):  # the whole list first: applying commits between rows
        try:
            gateway = gateways.by_name(payment.gateway)
            notice = gateway.lookup(payment)
            outcome, new_rows = apply(gateway.name, notice) if notice else ("pending", [])
        except (LookupError, ProviderError, NotificationError) as exc:
            current_app.logger.warning("reconcile: payment %s at %s: %s", payment.id, payment.gateway, exc)
            continue
        changed += outcome not in ("pending", "duplicate", "already")
        rows += new_rows
    return changed, rows


def settle_due(now=None):
    """Card-paid invoices become «Проведен» SETTLEMENT_DELAY_MINUTES after payment."""
    cutoff = (now or utcnow()) - timedelta(minutes=int(current_app.config["SETTLEMENT_DELAY_MINUTES"]))
    return bulk_move((Invoice.status == "paid") & (Invoice.paid_by == "card") & (Invoice.paid_at <= cutoff),
                     "transferred")
