"""Card payments: starting one for an invoice, applying the gateway's notification, settling.

Money is never dropped: a payment confirmed for an invoice that can no longer be
paid is recorded, flagged for a refund, and the merchant is told.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from .. import gateways
from ..database import utcnow
from ..extensions import db
from ..gateways.base import NotificationError
from ..models import Invoice, InvoiceEvent, Merchant, Payment, PaymentNotification
from . import outbox
from .lifecycle import bulk_move, payable


class PaymentRefused(Exception):
    """The payer cannot pay this invoice now; the message says why."""


MERCHANT_DISABLED = _l("Получатель платежа сейчас не принимает оплату через ЦК Бизнес. "
                       "Свяжитесь с ним, чтобы оплатить счет.")


def start(invoice):
    """Create a pending payment of amount + commission; returns (payment, gateway URL)."""
    if not payable(invoice):
        raise PaymentRefused(_("Этот счет уже нельзя оплатить."))
    if not Merchant.get_by_id(invoice.merchant_id).active:
        raise PaymentRefused(MERCHANT_DISABLED)
    # A declined card may be tried again, but a button pressed fifty times is not fifty payments.
    recent = Payment.select().where(Payment.invoice == invoice.id,
                                    Payment.created_at > utcnow() - timedelta(minutes=1)).count()
    if recent >= int(current_app.config["PAYMENT_STARTS_PER_MINUTE"]):
        raise PaymentRefused(_("Слишком много попыток оплаты за минуту. Подождите минуту и попробуйте снова."))
    gateway = gateways.current()
    payment = Payment.create(invoice=invoice, gateway=gateway.name,
                             provider_payment_id=gateway.new_payment_id(),
                             amount_kop=invoice.amount_kop + invoice.commission_kop, currency="RUB")
    return payment, gateway.start(invoice, payment)


def apply(gateway_name, notice):
    """Apply one verified notification; returns (outcome, outbox rows to queue after commit).

    Outcomes: duplicate, already, failed, mismatch, paid, refund. Raises
    NotificationError (nothing written) for an unknown payment or a payment of
    another invoice.
    """
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
        if invoice.token != notice.invoice_token:
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
        return "refund", _flag(payment, invoice, "refund", _("счет в статусе «%(s)s»", s=invoice.status))
    InvoiceEvent.create(invoice=invoice.id, kind="paid", at=now, note=_("картой"))
    rows = _merchant_notice(invoice, "paid_notice")
    if invoice.payer_email:
        rows.append(outbox.add(invoice.merchant_id, invoice.id, "email", "payment_received", invoice.payer_email))
    return "paid", rows


def _flag(payment, invoice, reason, detail):
    """Record why a person must look at this payment, and tell the merchant."""
    Payment.update(attention=f"{reason}: {detail}"[:250]).where(Payment.id == payment.id).execute()
    InvoiceEvent.create(invoice=invoice.id, kind=f"payment_{reason}", note=detail[:250])
    current_app.logger.warning("payment %s needs attention: %s %s", payment.id, reason, detail)
    # Money to check or return is told by SMS to the owner when the merchant has no e-mail.
    return outbox.for_merchant(Merchant.get_by_id(invoice.merchant_id), invoice.id, f"{reason}_notice",
                               sms_fallback=True)


def _merchant_notice(invoice, kind):
    """An e-mail about the invoice to the merchant, if it has an address."""
    return outbox.for_merchant(Merchant.get_by_id(invoice.merchant_id), invoice.id, kind)


def settle_due(now=None):
    """Card-paid invoices become «Проведен» SETTLEMENT_DELAY_MINUTES after payment."""
    cutoff = (now or utcnow()) - timedelta(minutes=int(current_app.config["SETTLEMENT_DELAY_MINUTES"]))
    return bulk_move((Invoice.status == "paid") & (Invoice.paid_by == "card") & (Invoice.paid_at <= cutoff),
                     "transferred")
