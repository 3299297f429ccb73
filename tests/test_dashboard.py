"""«Сводка» (issue 19): the numbers agree with the history filtered the same way, days fall in
the merchant's zone, the chart has a bar per day, and only the merchant's own invoices count."""
import csv
import io
import re
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playhouse.test_utils import count_queries

from ckbiz.extensions import db
from ckbiz.models import Merchant, Service
from conftest import AuthActions
from factories import make_invoice, other_merchant, team_member

PERIOD = "?from=2026-11-01&to=2026-11-30"
STATUS_WORDS = {"выставлен": "issued", "оплачен": "paid", "проведен": "transferred", "истек": "expired",
                "отменен": "cancelled"}


def at(text):
    """A naive UTC moment from «2026-11-27 20:30»."""
    return datetime.fromisoformat(text)


def dashboard(client, query=PERIOD, **headers):
    response = client.get("/dashboard" + query, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def by_status(html):
    """{status: (count, sum text)} from the dashboard's table by status."""
    rows = re.findall(r'status-(\w+)">[^<]*</span></td>\s*<td class="num">(\d+)</td><td class="num">([^<]+)</td>', html)
    return {status: (int(n), kop) for status, n, kop in rows}


def per_day(html):
    """{«27.11.2026»: (issued, paid)} from the table under the chart."""
    rows = re.findall(r'<tr><td>(\d\d\.\d\d\.\d{4})</td><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>', html)
    return {day: (int(i), int(p)) for day, i, p in rows}


def set_zone(app, merchant, name):
    with app.app_context(), db.connection_context():
        Merchant.update(timezone=name).where(Merchant.id == merchant.id).execute()


@pytest.fixture
def november(app, merchant):
    """Invoices of November 2026 in every status, two of them outside the period."""
    made = [
        make_invoice(app, merchant, amount_kop=150050, issued_at=at("2026-11-02 09:00")),
        make_invoice(app, merchant, amount_kop=10000, issued_at=at("2026-11-03 10:00"), status="paid",
                     paid_by="card", paid_at=at("2026-11-03 11:00")),
        make_invoice(app, merchant, amount_kop=20000, issued_at=at("2026-11-05 10:00"), status="paid",
                     paid_by="other", paid_at=at("2026-11-05 12:15")),
        make_invoice(app, merchant, amount_kop=30000, issued_at=at("2026-11-10 08:00"), status="transferred",
                     paid_by="card", paid_at=at("2026-11-13 12:00")),
        make_invoice(app, merchant, amount_kop=5000, issued_at=at("2026-11-12 08:00"), status="expired"),
        make_invoice(app, merchant, amount_kop=7000, issued_at=at("2026-11-29 20:59"), status="cancelled"),
        make_invoice(app, merchant, amount_kop=999, issued_at=at("2026-10-31 20:59")),  # 31.10 23:59 МСК
        make_invoice(app, merchant, amount_kop=999, issued_at=at("2026-11-30 21:00")),  # 01.12 00:00 МСК
    ]
    return made


def test_the_numbers_agree_with_the_history_totals_and_csv(app, logged_in, november):
    html = dashboard(logged_in)
    totals = logged_in.get("/invoices/totals" + PERIOD, headers={"HX-Request": "true"}).get_data(as_text=True)
    history = {status: (int(n), kop) for status, n, kop in
               re.findall(r'status-(\w+)">[^:]+: (\d+) · ([^<]+)</span>', totals)}
    assert by_status(html) == history == {
        "issued": (1, "1\u00a0500,50\u00a0₽"), "paid": (2, "300,00\u00a0₽"), "transferred": (1, "300,00\u00a0₽"),
        "expired": (1, "50,00\u00a0₽"), "cancelled": (1, "70,00\u00a0₽")}
    rows = list(csv.reader(io.StringIO(logged_in.get("/invoices.csv" + PERIOD).get_data().decode("utf-8-sig")),
                           delimiter=";"))[1:]
    counted = Counter(STATUS_WORDS[row[9]] for row in rows)
    summed = Counter()
    for row in rows:
        summed[STATUS_WORDS[row[9]]] += Decimal(row[7].replace(",", "."))
    assert {s: n for s, (n, _kop) in by_status(html).items()} == dict(counted)
    assert sum(summed.values()) == Decimal("2220.50") and "2\u00a0220,50\u00a0₽" in html
    # 3 of 6 invoices paid (two paid, one transferred), 600 of 2220.50 rubles.
    assert "50,0\u00a0%" in html and "27,0\u00a0%" in html
    # From issue to payment: 1 h, 2 h 15 min, 3 days 4 h: the middle one.
    assert "2 ч 15 мин" in html


def test_the_chart_has_a_bar_pair_per_day_and_the_table_the_same_numbers(app, logged_in, november):
    html = dashboard(logged_in)
    assert html.count('class="bar-issued"') == 30 and html.count('class="bar-paid"') == 30
    assert 'role="img"' in html and "<title id=\"chart-title\">Выставлено и оплачено по дням, 01.11.2026 — 30.11.2026" in html
    assert ">01.11</text>" in html
    days = per_day(html)
    assert len(days) == 30
    assert days["03.11.2026"] == (1, 1) and days["10.11.2026"] == (1, 0) and days["13.11.2026"] == (0, 1)
    assert days["29.11.2026"] == (1, 0) and sum(i for i, _p in days.values()) == 6


def test_top_services_by_money_paid(app, logged_in, merchant, november):
    with app.app_context(), db.connection_context():
        second = Service.of(merchant).order_by(Service.id.desc()).first()
    make_invoice(app, merchant, amount_kop=100000, issued_at=at("2026-11-20 10:00"), status="paid", paid_by="card",
                 paid_at=at("2026-11-20 10:30"), service=second.id)
    html = dashboard(logged_in)
    top = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]+)</td></tr>", html.split("Услуги, принесшие")[1])
    assert top[:2] == [(second.display_name, "1\u00a0000,00\u00a0₽"), ("Демо ПА", "600,00\u00a0₽")]


def test_an_invoice_at_23_30_moscow_time_lands_on_its_moscow_day(app, logged_in, merchant):
    make_invoice(app, merchant, issued_at=at("2026-11-26 20:30"), status="paid", paid_by="card",
                 paid_at=at("2026-11-27 21:10"))  # paid 28.11 00:10 МСК: after the period
    days = per_day(dashboard(logged_in, "?from=2026-11-26&to=2026-11-27"))
    assert days == {"26.11.2026": (1, 0), "27.11.2026": (0, 0)}
    set_zone(app, merchant, "Asia/Omsk")  # МСК+3: issued 27.11 02:30, paid 28.11 03:10
    days = per_day(dashboard(logged_in, "?from=2026-11-26&to=2026-11-28"))
    assert days == {"26.11.2026": (0, 0), "27.11.2026": (1, 0), "28.11.2026": (0, 1)}


def test_days_stay_right_across_a_summer_time_change(app, logged_in, merchant):
    set_zone(app, merchant, "Europe/Berlin")  # 25.10.2026 03:00 CEST becomes 02:00 CET
    make_invoice(app, merchant, issued_at=at("2026-10-24 22:30"))  # 25.10 00:30 CEST
    make_invoice(app, merchant, issued_at=at("2026-10-25 22:30"))  # 25.10 23:30 CET
    make_invoice(app, merchant, issued_at=at("2026-10-25 23:00"))  # 26.10 00:00 CET
    set_zone(app, merchant, "Asia/Kolkata")  # UTC+5:30: the hours start at :30 past UTC's
    make_invoice(app, merchant, issued_at=at("2026-10-26 18:29"))  # 26.10 23:59 IST
    make_invoice(app, merchant, issued_at=at("2026-10-26 18:30"))  # 27.10 00:00 IST
    days = per_day(dashboard(logged_in, "?from=2026-10-26&to=2026-10-27"))
    assert days == {"26.10.2026": (3, 0), "27.10.2026": (1, 0)}
    set_zone(app, merchant, "Europe/Berlin")
    days = per_day(dashboard(logged_in, "?from=2026-10-24&to=2026-10-26"))
    assert days == {"24.10.2026": (0, 0), "25.10.2026": (2, 0), "26.10.2026": (3, 0)}


def test_an_empty_period(app, logged_in, merchant):
    html = dashboard(logged_in, "?from=2026-01-01&to=2026-01-07")
    assert "За этот период счетов нет" in html and "Оплаченных счетов за период нет" in html
    assert html.count('class="bar-issued"') == 7 and 'height="0.0"' in html
    assert per_day(html) == {f"0{d}.01.2026": (0, 0) for d in range(1, 8)}


@pytest.mark.parametrize("query, message", [
    ("?from=yesterday", "ГГГГ-ММ-ДД"), ("?from=2026-13-01&to=2026-11-30", "ГГГГ-ММ-ДД"),
    ("?from=2026-11-30&to=2026-11-01", "Начало периода позже его конца"),
    ("?from=2020-01-01&to=2026-11-30", "Период не длиннее года"), ("?from=0001-01-01&to=9999-12-31", "года"),
    ("?to=\x01", "ГГГГ-ММ-ДД")])
def test_a_bad_period_is_a_message_and_this_month(app, logged_in, merchant, query, message):
    html = dashboard(logged_in, query)
    this_month = datetime.now(ZoneInfo("Europe/Moscow")).date().replace(day=1)
    assert message in html and f'id="from" name="from" type="date" value="{this_month}"' in html


def test_this_month_by_default_and_presets_link_their_periods(app, logged_in, merchant):
    html = dashboard(logged_in, "")
    assert re.search(r'id="from" name="from" type="date" value="\d{4}-\d\d-01"', html)
    for label in ("Сегодня", "7 дней", "30 дней", "Квартал"):
        assert f">{label}</a>" in html
    assert "Сводка" in html and 'aria-current="page">Сводка</a>' in html


def test_htmx_swaps_the_period_and_its_numbers(app, logged_in, november):
    html = dashboard(logged_in, PERIOD, **{"HX-Request": "true", "HX-Target": "dashboard"})
    assert "<html" not in html and 'hx-target="#dashboard"' in html and 'class="bar-issued"' in html


def test_a_viewer_reads_it(app, merchant, november):
    team_member(app, merchant, "9165550101", "viewer")
    client = app.test_client()
    assert AuthActions(client).login("9165550101", "member password").status_code == 303
    assert by_status(dashboard(client))["issued"] == (1, "1\u00a0500,50\u00a0₽")


def test_another_merchants_invoices_never_count(app, client, auth, merchant, november):
    other = other_merchant(app)
    make_invoice(app, other, amount_kop=4200, issued_at=at("2026-11-02 09:00"))
    auth.login(phone="9037778899", password="other password")
    html = dashboard(client)
    assert by_status(html) == {"issued": (1, "42,00\u00a0₽")}
    assert "Оплаченных счетов за период нет" in html


def test_the_query_count_does_not_grow_with_invoices(app, logged_in, merchant):
    make_invoice(app, merchant, issued_at=at("2026-11-02 08:00"), status="paid", paid_by="card",
                 paid_at=at("2026-11-02 09:00"))
    with app.app_context():
        with count_queries() as few:
            dashboard(logged_in)
    for n in range(20):
        make_invoice(app, merchant, issued_at=at("2026-11-02 09:00") + timedelta(hours=n), status="paid",
                     paid_by="card", paid_at=at("2026-11-03 09:00"))
    with app.app_context():
        with count_queries() as many:
            dashboard(logged_in)
    assert many.count == few.count


def test_durations_and_shares_read_the_way_people_say_them(app):
    from ckbiz.formatting import duration, percent
    with app.test_request_context():
        assert duration(timedelta(hours=2, minutes=15, seconds=59)) == "2 ч 15 мин"
        assert duration(timedelta(days=3, hours=4, minutes=59)) == "3 дн 4 ч"
        assert duration(timedelta(minutes=40)) == "40 мин" and duration(timedelta(seconds=5)) == "0 мин"
        assert percent(Decimal(2) / 3) == "66,7\u00a0%" and percent(Decimal(1)) == "100,0\u00a0%"
