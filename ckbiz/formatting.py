"""How values look on pages and in messages: money, dates in a zone, phones."""
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

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


def date_text(dt, tz_name=None):
    """'20-04-2016', the manual's history date."""
    return local(dt, tz_name).strftime("%d-%m-%Y") if dt else ""


def init_app(app):
    """Expose the formatters to templates as filters."""
    app.add_template_filter(money.format_rubles, "rubles")
    app.add_template_filter(phones.display, "phone")
    app.add_template_filter(datetime_text, "datetime")
    app.add_template_filter(date_text, "date")
    from .transitions import STATUS_LABELS

    app.jinja_env.globals["status_labels"] = STATUS_LABELS
