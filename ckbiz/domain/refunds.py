"""Money that needs returning: card payments flagged "refund" (confirmed for an invoice that could
no longer be paid) and not returned yet. The history shows them in a banner and a filter."""
from peewee import SQL, fn

from ..models import Invoice, Payment

FLAG = "refund"


def _waiting():
    """The payments still waiting for their refund."""
    return Payment.select().where(Payment.attention.startswith(FLAG + ":"), Payment.status != "refunded")


def invoices_with_refund_due():
    """Ids of invoices with money to return, as a subquery."""
    return _waiting().select(Payment.invoice)


def due(merchant):
    """(how many payments, how many kopecks) the merchant has to return."""
    count, kopecks = (_waiting().join(Invoice).where(Invoice.merchant == merchant)
                      .select(fn.COUNT(SQL("*")), fn.SUM(Payment.amount_kop)).tuples().get())
    return count, int(kopecks or 0)
