"""Money that needs returning, and «Вернуть платеж».

A card payment confirmed for an invoice that could no longer be paid is flagged "refund" and
waits for its refund (refund_state "due"): the history shows such payments in a banner and a
filter. «Вернуть платеж» returns one, once: the payment is claimed (due → refunding) before the
provider is asked, so two clicks or two tabs ask once; a provider that did not answer leaves the claim, and
the next click asks again with the same idempotency key, which the provider turns into the same
refund.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from peewee import SQL, fn

from .. import gateways
from ..database import Prepared, utcnow
from ..gateways.base import ProviderError
from ..models import Invoice, InvoiceEvent, Payment


# A refund is due from the flag until the provider has confirmed it.
WAITING = ("due", "refunding")


class RefundRefused(Exception):
    """The payment cannot be returned now; the message says why."""


def _waiting():
    """The payments still waiting for their refund."""
    return Payment.select().where(Payment.refund_state.in_(WAITING))


def invoices_with_refund_due():
    """Ids of invoices with money to return, as a subquery."""
    return _waiting().select(Payment.invoice)


def due(merchant):
    """(how many payments, how many kopecks) the merchant has to return."""
    count, kopecks = _due_of.first(merchant.id)
    return count, int(kopecks or 0)


@Prepared
def _due_of(merchant_id):
    """What due() counts; every history page asks, so the statement is built once."""
    return (_waiting().join(Invoice).where(Invoice.merchant == merchant_id)
            .select(fn.COUNT(SQL("*")), fn.SUM(Payment.amount_kop)).tuples())


def refundable(invoice):
    """The invoice's payments that need a refund, or were refunded (for the dialog)."""
    return list(Payment.select().where(Payment.invoice == invoice.id, Payment.refund_state != "").order_by(Payment.id))


def refund(invoice, provider_payment_id, actor):
    """Return the whole payment through its own provider; RefundRefused says why not."""
    payment = Payment.get_or_none(Payment.invoice == invoice.id, Payment.provider_payment_id == provider_payment_id)
    if payment is None or not payment.refund_state:
        raise RefundRefused(_("Этот платеж не требует возврата."))
    if payment.refund_state == "refunded":
        raise RefundRefused(_("Платеж уже возвращен."))
    now = utcnow()
    # A claim older than two provider timeouts was left by a request that never heard back.
    stale = now - timedelta(seconds=2 * float(current_app.config["PAYMENT_TIMEOUT"]))
    claimed = (Payment.update(refund_state="refunding", refund_started_at=now)
               .where(Payment.id == payment.id,
                      (Payment.refund_state == "due")
                      | ((Payment.refund_state == "refunding") & (Payment.refund_started_at < stale)))
               .execute())
    if not claimed:
        raise RefundRefused(_("Возврат этого платежа уже выполняется. Обновите страницу через минуту."))
    try:
        gateways.by_name(payment.gateway).refund(payment)
    except ProviderError as exc:
        current_app.logger.warning("refund of payment %s at %s: %s", payment.id, payment.gateway, exc)
        if not exc.unknown:  # refused: nothing happened, the owner may try again
            Payment.update(refund_state="due").where(Payment.id == payment.id).execute()
        raise RefundRefused(_("Банк не подтвердил возврат. Попробуйте еще раз через минуту.")) from exc
    Payment.update(refund_state="refunded").where(Payment.id == payment.id).execute()
    InvoiceEvent.create(invoice=invoice.id, kind="payment_refunded", actor=actor)
