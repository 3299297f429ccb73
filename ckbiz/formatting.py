"""How values look to people, by Babel's Russian conventions: «1 500,00 ₽», «27.11.2026 03:48 (МСК)».

One set of formatters for pages, e-mails, SMS and documents; the CSV alone keeps
«1500,00», a number Excel reads.
"""
from datetime import timedelta

from babel import Locale
from babel.core import get_global
from babel.dates import format_date
from babel.numbers import format_percent, parse_pattern
from flask import g, url_for
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _

from .domain import positions
from .domain.clock import local
from .domain.money import to_decimal

MOSCOW = timedelta(hours=3)
_GROUPED = parse_pattern("#,##0.00")  # parsed once: Babel would parse it again on every call


def _locale():
    """The request's or task's locale; Russian outside any (the CLI, tests of a formatter)."""
    try:
        return get_locale() or Locale.parse("ru")
    except RuntimeError:
        return Locale.parse("ru")


def rubles(kopecks):
    """«1 500,00 ₽»: grouped thousands and the ruble sign, each after a no-break space.

    Written out for Russian, the cabinet's one locale, as Babel's currency pattern for «ru»
    formats it (tests/test_formatting.py holds the two equal): Babel took 12 µs a sum, and a
    history page shows fifty.
    """
    rubles_part, kopecks_part = divmod(abs(kopecks), 100)
    grouped = f"{rubles_part:,}".replace(",", "\u00a0")
    return f"{'-' if kopecks < 0 else ''}{grouped},{kopecks_part:02d}\u00a0₽"


def grouped_rubles(kopecks):
    """«1 500,00»: grouped, no sign, for a document's columns of rubles."""
    return _GROUPED.apply(to_decimal(kopecks), _locale())


def plain_rubles(kopecks):
    """«1500,00», no grouping and no sign: a number as Excel (the CSV) and a form field take it."""
    return str(to_decimal(kopecks)).replace(".", ",")


def quantity(value):
    """«1,5», «2», «0,125»: a quantity as Russians write it, without trailing zeros."""
    return format(value.normalize(), "f").replace(".", ",")


def datetime_text(dt, tz_name=None, with_zone=False):
    """«27.11.2026 03:48» in the zone, optionally naming it: «… (МСК)»."""
    if dt is None:
        return ""
    moment = local(dt, tz_name)
    text = moment.strftime("%d.%m.%Y %H:%M")  # digits only: the same in every locale, and no Babel per row
    return f"{text} ({zone_label(moment)})" if with_zone else text


def date_text(dt, tz_name=None):
    """«27.11.2026» in the zone."""
    return "" if dt is None else datetime_text(dt, tz_name)[:10]


def long_date(dt, tz_name=None):
    """«27 ноября 2026 г.» in the zone, as a Russian document dates itself."""
    moment = local(dt, tz_name)
    return format_date(moment, "d MMMM y 'г'.", locale=_locale())
def day_month(day):
    """«27.11»: a day on the chart's axis."""
    return day.strftime("%d.%m")


def day_text(day):
    """«27.11.2026»: a calendar day (a date, not a moment, so no zone)."""
    return day.strftime("%d.%m.%Y")


def percent(fraction):
    """«62,5 %» for Decimal("0.625"), by the locale's percent sign and separators."""
    return format_percent(fraction, "#,##0.0\u00a0%", locale=_locale())


def duration(span):
    """«3 дн 4 ч», «2 ч 15 мин», «40 мин»: the two largest units are enough to compare by."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d дн %(hours)d ч", days=days, hours=hours)
    if hours:
        return _("%(hours)d ч %(minutes)d мин", hours=hours, minutes=minutes)
    return _("%(minutes)d мин", minutes=minutes)


def zone_label(moment):
    """«МСК», «МСК+4», «МСК−1» for Russia's zones (as Russians name them), «UTC+1» elsewhere."""
    offset = moment.utcoffset()
    if get_global("zone_territories").get(moment.tzinfo.key) == "RU":
        hours = (offset - MOSCOW) // timedelta(hours=1)
        return "МСК" if hours == 0 else f"МСК{'+' if hours > 0 else '−'}{abs(hours)}"
    minutes = offset // timedelta(minutes=1)
    hours, rest = divmod(abs(minutes), 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "") if minutes else "UTC"


def phone(number):
    """+7 902 637-65-77 for 9026376577."""
    if not number:
        return ""
    return f"+7 {number[:3]} {number[3:6]}-{number[6:8]}-{number[8:]}"


# (a mark in the User-Agent, the name people know it by), the first match wins: Edge and
# Yandex Browser also call themselves Chrome, Chrome also calls itself Safari.
BROWSERS = (("YaBrowser/", "Яндекс Браузер"), ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
            ("Chrome/", "Chrome"), ("Safari/", "Safari"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("Linux", "Linux"))


def device(user_agent):
    """«Chrome, Windows» from a User-Agent string; what it cannot name it shows cut short."""
    agent = user_agent or ""
    browser = next((name for mark, name in BROWSERS if mark in agent), None)
    system = next((name for mark, name in SYSTEMS if mark in agent), None)
    if browser or system:
        return ", ".join(part for part in (browser, system) if part)
    return agent[:60] or "—"


def init_app(app):
    """Expose the formatters to templates as filters."""
    app.add_template_filter(rubles, "rubles")
    app.add_template_filter(plain_rubles, "plain_rubles")
    app.add_template_filter(quantity, "quantity")
    app.add_template_filter(phone, "phone")
    app.add_template_filter(datetime_text, "datetime")
    app.add_template_filter(date_text, "date")
    app.add_template_filter(device, "device")
    app.add_template_filter(day_month, "day_month")
    app.add_template_filter(day_text, "day")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(duration, "duration")
    app.add_template_global(invoice_url)
    app.add_template_global(positions.lines_of)
    app.add_template_global(positions.vat_total)
    app.add_template_global(positions.VAT_LABELS, "vat_labels")
    app.add_template_global(positions.UNITS, "units")
    # Flask-Babel finds the locale and the catalog again for every string a template
    # translates (a page has dozens, an e-mail forty); once per request or task is enough.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)


def _translations():
    """Flask-Babel's catalog for this request or task, looked up once."""
    if "translations" not in g:
        g.translations = get_translations()
    return g.translations


# An invoice number no real invoice reaches, so it can stand in for one in a built URL.
_PLACEHOLDER = 10**15 + 7


def invoice_url(endpoint, number):
    """url_for(endpoint, number=number), building each endpoint once per request.

    A history page links each of its fifty rows to four endpoints that differ only in
    the number, and werkzeug's URL builder was the page's largest cost after rendering.
    """
    patterns = g.setdefault("invoice_url_patterns", {})
    if endpoint not in patterns:
        patterns[endpoint] = url_for(endpoint, number=_PLACEHOLDER).split(str(_PLACEHOLDER))
    head, tail = patterns[endpoint]
    return f"{head}{number}{tail}"
