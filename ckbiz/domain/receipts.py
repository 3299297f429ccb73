"""54-ФЗ receipt data for a card payment (DESIGN "Fiscal receipts"): who gets it, the tax system,
and items that add up to the amount charged, to the kopeck. Providers turn it into their format."""
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..gateways.base import Receipt, ReceiptItem
from .positions import lines_of

TAX_SYSTEMS = {"osn": _l("ОСН"), "usn_income": _l("УСН доход"), "usn_income_outcome": _l("УСН доход − расход"),
               "esn": _l("ЕСХН"), "patent": _l("Патент")}
MAX_NAME = 128  # both providers' limit on an item's name
COMMISSION = _l("Комиссия за оплату картой")


def for_payment(invoice):
    """The receipt of a payment of this invoice, or None when RECEIPTS is off."""
    config = current_app.config
    if not config["RECEIPTS"]:
        return None
    agent = config["RECEIPT_AGENT"] == "payment_agent"
    if agent:
        payee = invoice.issued_with["payee"]
        tax_system, supplier = config["OPERATOR_TAX_SYSTEM"], (payee["name"], payee["inn"])
    else:
        tax_system, supplier = invoice.merchant.tax_system or "osn", None
    return Receipt(email=invoice.payer_email or None, phone=None if invoice.payer_email else invoice.payer_phone,
                   tax_system=tax_system, items=items(invoice, supplier))


def items(invoice, supplier=None):
    """One item per line of the invoice and the commission as its own; they sum to the charge.

    A line whose quantity × price is not its amount to the kopeck (a rounded fractional
    quantity) goes as one unit of its amount, so no provider recomputes a different sum.
    """
    lines = lines_of(invoice)
    if sum(line.amount_kop for line in lines) == invoice.amount_kop:
        result = [_item(line.name, line.quantity, line.price_kop, line.amount_kop, line.vat, supplier)
                  for line in lines]
    else:  # positions that do not make up the amount (never by the issue form): one item of it
        service = invoice.issued_with["service"]
        result = [_item(service["title"], Decimal(1), invoice.amount_kop, invoice.amount_kop,
                        service.get("vat", "none"), supplier)]
    if invoice.commission_kop:
        # The commission is the operator's own service: no supplier, no VAT of the payee's.
        result.append(_item(str(COMMISSION), Decimal(1), invoice.commission_kop, invoice.commission_kop, "none", None))
    return tuple(result)


def _item(name, quantity, price_kop, amount_kop, vat, supplier):
    if quantity * price_kop != amount_kop:
        quantity, price_kop = Decimal(1), amount_kop
    return ReceiptItem(name=name[:MAX_NAME], quantity=quantity, price_kop=price_kop, amount_kop=amount_kop,
                       vat=vat, supplier=supplier)
