"""How values look on pages and in messages: money, dates in a zone, phones."""
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, url_for
from flask_babel import get_translations

from . import money, phones


def zone(name=None):
    """A ZoneInfo for the name, falling back to the installation's default zone."""
    try:
        return ZoneInfo(name or current_app.config["DEFAULT_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Moscow")


def local(dt, tz_name=None):
    """A naive-UTC datetime as an aware one in the given zone."""
    return dt.replace(tzinfo=UTC).astimezone(zone(tz_name))


def datetime_text(dt, tz_name=None, with_zone=False):
    """'2016-10-14 10:21' in the zone, optionally naming it ('… (Europe/Moscow)')."""
    if dt is None:
        return ""
    text = local(dt, tz_name).strftime("%Y-%m-%d %H:%M")
    return f"{text} ({zone(tz_name).key})" if with_zone else text


def init_app(app):
    """Expose the formatters to templates as filters."""
    app.add_template_filter(money.format_rubles, "rubles")
    app.add_template_filter(phones.display, "phone")
    app.add_template_filter(datetime_text, "datetime")
    app.add_template_global(invoice_url)
    app.context_processor(row_texts)
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


def row_texts():
    """Words every history row repeats, translated once per page rather than once per row."""
    from flask_babel import gettext as _

    from .transitions import STATUS_LABELS

    return {
        "status_icons": {"issued": "✉", "paid": "✔", "transferred": "✔✔", "expired": "⌛", "cancelled": "✖"},
        "status_labels": {status: str(label) for status, label in STATUS_LABELS.items()},
        "texts": {"remind": _("Напомнить"), "mark_paid": _("Оплачен другим способом"), "cancel": _("Отменить"),
                  "confirm_paid": _("Отметить счет № %s оплаченным другим способом?"),
                  "confirm_cancel": _("Отменить счет № %s?"), "invoice": _("Инвойс"),
                  "other_way": _("другим способом")},
    }
