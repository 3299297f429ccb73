"""Time in the merchant's zone: rows keep naive UTC, people live in Europe/Moscow and beyond."""
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app


def zone(name=None):
    """A ZoneInfo for the name, falling back to the installation's default zone."""
    try:
        return ZoneInfo(name or current_app.config["DEFAULT_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Moscow")


def local(dt, tz_name=None):
    """A naive-UTC datetime as an aware one in the given zone."""
    return dt.replace(tzinfo=UTC).astimezone(zone(tz_name))


def naive_utc(moment):
    """An aware datetime as the naive UTC that rows keep; a naive one is taken as UTC already."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
