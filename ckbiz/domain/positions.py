"""Line items of an invoice: quantity × price per line, rounded to the kopeck, VAT included in prices.

A position is stored as {"name", "quantity" (decimal text, up to 3 places), "unit", "price_kop",
"vat", "amount_kop"}. An invoice without positions has one line: its service title for its amount.
"""
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from . import money
from .typed_text import digits_ascii, visible

# The rates a Russian invoice may name; "none" is «Без НДС» (a payee on the simplified system).
VAT_RATES = ("none", "0", "5", "7", "10", "20", "22")
VAT_LABELS = {"none": _l("Без НДС"), "0": "0 %", "5": "5 %", "7": "7 %", "10": "10 %", "20": "20 %",
              "22": "22 %"}
UNITS = ("шт.", "усл.", "ч", "дн.", "мес.", "кг", "г", "т", "л", "м", "м²", "м³", "км", "компл.", "упак.")
MAX_POSITIONS = 100
MAX_NAME = 200
_QUANTITY = re.compile(r"^\d{1,9}([.,]\d{1,3})?$", re.ASCII)
_THOUSANDTH = Decimal("0.001")
FIELDS = ("name", "quantity", "unit", "price", "vat")


@dataclass(frozen=True)
class Line:
    """One row of the positions table as the PDF, the e-mail and the pages show it."""

    name: str
    quantity: Decimal
    unit: str
    price_kop: int
    vat: str
    amount_kop: int


class PositionErrors(ValueError):
    """What is wrong with the typed rows: {row index: {field: message}}, and the sum as a whole."""

    def __init__(self, rows, total=""):
        super().__init__("; ".join(str(m) for m in [total] * bool(total) + [m for r in rows.values() for m in r.values()]))
        self.rows = rows
        self.total = total


def parse_quantity(text):
    """Decimal quantity from '2', '1,5', '0.125'; ValueError with a Russian message otherwise."""
    raw = "".join(digits_ascii(text).split())
    if not raw:
        raise ValueError(_l("Укажите количество"))
    if not _QUANTITY.match(raw):
        raise ValueError(_l("Количество — число, не больше трех знаков после запятой"))
    quantity = Decimal(raw.replace(",", "."))
    if quantity <= 0:
        raise ValueError(_l("Количество должно быть больше нуля"))
    return quantity.quantize(_THOUSANDTH)


def line_amount(quantity, price_kop):
    """Kopecks of one line: quantity × price, half-up to the kopeck."""
    return int((quantity * price_kop).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_of(amount_kop, vat):
    """Kopecks of VAT included in amount_kop at the rate, half-up; 0 for «Без НДС»."""
    if vat == "none":
        return 0
    rate = Decimal(vat)
    return int((amount_kop * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def is_blank(row):
    """A row the merchant left empty: no name and no price (quantity, unit and rate have defaults)."""
    return not any(visible(str(row.get(field) or "")) for field in ("name", "price"))


def clean_positions(rows, maximum):
    """The stored positions of the typed rows (dicts of FIELDS as text); blank rows are dropped.

    `maximum` is the largest sum in rubles (Decimal). Raises PositionErrors.
    """
    cleaned, errors = [], {}
    for index, row in enumerate(rows):
        if is_blank(row):
            continue
        try:
            cleaned.append(_clean_row(row))
        except PositionErrors as exc:
            errors[index] = exc.rows[0]
    if errors:
        raise PositionErrors(errors)
    if len(cleaned) > MAX_POSITIONS:
        raise PositionErrors({}, _l("Не больше %(n)d позиций", n=MAX_POSITIONS))
    if cleaned:
        try:
            money.parse_amount(money.to_decimal(total(cleaned)), maximum)
        except money.AmountError as exc:
            raise PositionErrors({}, str(exc)) from exc
    return cleaned


def _clean_row(row):
    errors = {}
    name = " ".join(visible(str(row.get("name") or "")).split())
    if not name:
        errors["name"] = _l("Укажите наименование")
    elif len(name) > MAX_NAME:
        errors["name"] = _l("Не больше %(n)d символов", n=MAX_NAME)
    quantity = price_kop = None
    try:
        quantity = parse_quantity(row.get("quantity"))
    except ValueError as exc:
        errors["quantity"] = str(exc)
    try:
        if not str(row.get("price") or "").strip():
            raise money.AmountError(_l("Укажите цену"))
        price_kop = money.parse_rubles(row.get("price"))
        if price_kop <= 0:
            errors["price"] = _l("Цена должна быть больше нуля")
    except money.AmountError as exc:
        errors["price"] = str(exc)
    unit = str(row.get("unit") or "").strip()
    if unit not in UNITS:
        errors["unit"] = _l("Выберите единицу из списка")
    vat = str(row.get("vat") or "").strip()
    if vat not in VAT_RATES:
        errors["vat"] = _l("Выберите ставку НДС из списка")
    if not errors and line_amount(quantity, price_kop) == 0:
        errors["quantity"] = _l("Сумма строки меньше копейки")
    if errors:
        raise PositionErrors({0: errors})
    return {"name": name, "quantity": format(quantity.normalize(), "f"),
            "unit": unit, "price_kop": price_kop, "vat": vat, "amount_kop": line_amount(quantity, price_kop)}


def total(positions):
    """Kopecks of the stored positions together."""
    return sum(p["amount_kop"] for p in positions)


def lines_of(invoice):
    """The rows of the invoice's table: its positions, or one line with the service title."""
    if invoice.positions:
        return [Line(p["name"], Decimal(p["quantity"]), p["unit"], p["price_kop"], p["vat"], p["amount_kop"])
                for p in invoice.positions]
    service = invoice.issued_with["service"]
    return [Line(service["title"], Decimal(1), "усл.", invoice.amount_kop, service.get("vat", "none"),
                 invoice.amount_kop)]


def vat_total(invoice):
    """Kopecks of VAT included in the invoice, or None when every line is «Без НДС»."""
    lines = lines_of(invoice)
    if all(line.vat == "none" for line in lines):
        return None
    return sum(vat_of(line.amount_kop, line.vat) for line in lines)
