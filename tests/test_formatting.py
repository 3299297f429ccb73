"""How values read to a Russian: «1 500,00 ₽», «27.11.2026 03:48 (МСК)», «+7 902 637-65-77»."""
from datetime import datetime
from decimal import Decimal

import pytest
from babel.dates import format_datetime
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from ckbiz import formatting
from ckbiz.domain.clock import local

# 00:48 UTC on 27 November 2026.
MOMENT = datetime(2026, 11, 27, 0, 48)


@pytest.mark.parametrize("zone,shown", [
    ("Europe/Moscow", "27.11.2026 03:48 (МСК)"),
    ("Europe/Kaliningrad", "27.11.2026 02:48 (МСК−1)"),
    ("Asia/Vladivostok", "27.11.2026 10:48 (МСК+7)"),
    ("Asia/Kamchatka", "27.11.2026 12:48 (МСК+9)"),
    ("Europe/Berlin", "27.11.2026 01:48 (UTC+1)"),
    ("Asia/Kolkata", "27.11.2026 06:18 (UTC+5:30)"),
    ("America/New_York", "26.11.2026 19:48 (UTC−5)"),
    ("UTC", "27.11.2026 00:48 (UTC)"),
])
def test_dates_in_the_merchants_zone_name_it_as_russians_do(app, zone, shown):
    with app.app_context():
        assert formatting.datetime_text(MOMENT, zone, with_zone=True) == shown
        assert formatting.date_text(MOMENT, zone) == shown[:10]


def test_an_unknown_zone_falls_back_to_the_installations(app):
    with app.app_context():
        assert formatting.datetime_text(MOMENT, "Mars/Olympus", with_zone=True) == "27.11.2026 03:48 (МСК)"
        assert formatting.datetime_text(None) == ""


@pytest.mark.parametrize("kopecks,shown", [(0, "0,00\u00a0₽"), (1, "0,01\u00a0₽"), (150050, "1\u00a0500,50\u00a0₽"),
                                           (100000000, "1\u00a0000\u00a0000,00\u00a0₽"), (-152250, "-1\u00a0522,50\u00a0₽")])
def test_money_reads_with_no_break_spaces_and_the_ruble_sign(app, kopecks, shown):
    with app.test_request_context():
        assert formatting.rubles(kopecks) == shown


def test_the_csv_and_form_fields_keep_a_plain_number():
    assert formatting.plain_rubles(150050) == "1500,50"
    assert formatting.plain_rubles(5) == "0,05"


def test_phones_read_grouped():
    assert formatting.phone("9026376577") == "+7 902 637-65-77"
    assert formatting.phone(None) == ""


@given(st.integers(min_value=-10**13, max_value=10**13))
def test_money_reads_as_babels_russian_currency_pattern(kopecks):
    assert formatting.rubles(kopecks) == format_currency(Decimal(kopecks) / 100, "RUB", locale="ru")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       st.sampled_from(["Europe/Moscow", "Asia/Vladivostok", "Europe/Kaliningrad", "UTC"]))
def test_moments_read_as_babels_pattern(dt, zone):
    moment = local(dt, zone)
    assert formatting.datetime_text(dt, zone) == format_datetime(moment, "dd.MM.yyyy HH:mm", tzinfo=moment.tzinfo,
                                                                 locale="ru")
