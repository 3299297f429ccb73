"""«Сводка» in Chromium: the tab, the presets swapped with htmx and as plain links, dates typed in,
the chart drawn with no JavaScript and no style the CSP refuses, and a 360 px phone without a
sideways scroll."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import PHONE_VIEWPORT, unlabelled_fields

pytestmark = pytest.mark.e2e


def moscow_today():
    return datetime.now(ZoneInfo("Europe/Moscow")).date()


def watch_csp(page):
    """Console messages about the Content-Security-Policy, collected as the page runs."""
    refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    return refused


def test_the_tab_the_presets_and_the_dates_on_a_desktop(page, live):
    refused = watch_csp(page)
    page.goto(live.url("/invoices"))
    page.get_by_role("navigation", name="Разделы кабинета").get_by_role("link", name="Сводка").click()
    expect(page.get_by_role("heading", name="Сводка", exact=True)).to_be_visible()
    today = moscow_today()
    expect(page.locator("#from")).to_have_value(today.replace(day=1).isoformat())
    expect(page.locator("rect.bar-issued")).to_have_count(today.day)
    expect(page.get_by_role("img", name="Выставлено и оплачено по дням")).to_be_visible()
    assert unlabelled_fields(page) == []

    page.get_by_role("link", name="7 дней").click()
    expect(page).to_have_url(live.url(f"/dashboard?from={today - timedelta(days=6)}&to={today}"))
    expect(page.locator("rect.bar-issued")).to_have_count(7)
    expect(page.get_by_role("link", name="7 дней")).to_have_attribute("aria-current", "true")
    expect(page.locator("#from")).to_have_value((today - timedelta(days=6)).isoformat())

    page.fill("#from", (today - timedelta(days=13)).isoformat())
    page.get_by_role("button", name="Показать").click()
    expect(page.locator("rect.bar-issued")).to_have_count(14)
    expect(page.get_by_role("region", name="Таблица по дням").locator("tbody tr")).to_have_count(14)
    page.go_back()
    expect(page.locator("rect.bar-issued")).to_have_count(7)
    assert refused == []


def test_a_phone_without_javascript_reads_it_and_never_scrolls_sideways(context_factory, merchant_state, live):
    context = context_factory(storage_state=merchant_state, viewport=PHONE_VIEWPORT, device_scale_factor=2,
                              is_mobile=True, has_touch=True, java_script_enabled=False)
    page = context.new_page()
    page.goto(live.url("/dashboard"))
    page.get_by_role("link", name="30 дней").click()
    expect(page.locator("rect.bar-paid")).to_have_count(30)
    for heading in ("Выставлено", "Оплачено", "Время до оплаты", "По статусам", "По дням"):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    chart = page.locator("svg.chart-svg").bounding_box()
    assert 300 <= chart["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
