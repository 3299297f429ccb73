"""Money: integer kopecks inside, Decimal at the edges, never float."""
import re
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_currency
from flask_babel import lazy_gettext as _l

from .typed_text import digits_ascii

_RUBLES = re.compile(r"^\d{1,12}([.,]\d{1,2})?$", re.ASCII)
KOPECK = Decimal("0.01")


class AmountError(ValueError):
    """An amount the merchant typed that is not a sum of money."""


def parse_rubles(text):
    """Kopecks (zero included) for '100', '100.5', '100,50', '1 000.00'; AmountError otherwise.

    Exponents, NaN, signs and a third decimal are refused rather than rounded:
    a merchant who typed 1.001 made a mistake we should show, not guess at.
    """
    raw = "".join(digits_ascii(text).split())  # any space, no-break ones too
    if not raw:
        raise AmountError(_l("Укажите сумму"))
    if not _RUBLES.match(raw):
        raise AmountError(_l("Сумма — число рублей, не больше двух знаков после запятой, например 1500,00"))
    return to_kopecks(Decimal(raw.replace(",", ".")))


def parse_amount(text, maximum):
    """Kopecks of an amount to pay: parse_rubles, more than zero and at most `maximum` rubles."""
    kopecks = parse_rubles(text)
    if kopecks <= 0:
        raise AmountError(_l("Сумма должна быть больше нуля"))
    if kopecks > to_kopecks(maximum):
        raise AmountError(_l("Сумма не может быть больше %(max)s", max=format_currency(maximum, "RUB")))
    return kopecks


def to_kopecks(amount):
    """Decimal rubles to integer kopecks, rounding half-up."""
    return int(amount.quantize(KOPECK, rounding=ROUND_HALF_UP) * 100)


def to_decimal(kopecks):
    """Integer kopecks to Decimal rubles with two places."""
    return (Decimal(kopecks) / 100).quantize(KOPECK)


def commission(amount_kop, rate_bp, minimum_kop=0, maximum_kop=None):
    """Estimated commission in kopecks: amount × rate, half-up, clamped to [min, max].

    rate_bp is in hundredths of a percent (150 = 1.5 %).
    """
    raw = (Decimal(amount_kop) * rate_bp / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    value = max(int(raw), minimum_kop)
    if maximum_kop is not None:
        value = min(value, maximum_kop)
    return value


def percent_to_bp(text):
    """'1.5' or '1,5' percent to 150 hundredths; ValueError beyond two decimals or 0–100."""
    raw = digits_ascii(text).replace(",", ".")
    if not re.match(r"^\d{1,3}(\.\d{1,2})?$", raw, re.ASCII):
        raise ValueError("commission percent: up to two decimals, e.g. 1.5")
    value = Decimal(raw)
    if value > 100:
        raise ValueError("commission percent cannot exceed 100")
    return int(value * 100)


def bp_to_percent(rate_bp):
    """150 to '1.5', 1000 to '10'.

    Fixed-point on purpose: str() of a normalized Decimal(10) is '1E+1', which the
    service form showed for a 10 % commission and then refused to save.
    """
    return format((Decimal(rate_bp) / 100).normalize(), "f")
