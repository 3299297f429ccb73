"""§5 «История счетов»: live search, the status filter, the back button, the «Инвойс» dialog."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import issue, page_csrf, unique_email, unique_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def three(page, live):
    """Three invoices of this test: keys K01, K02 and K11 under a fresh prefix K; K02 cancelled."""
    key = unique_key()
    numbers = {suffix: issue(page, live, key + suffix, email=unique_email("h")) for suffix in ("01", "02", "11")}
    page.goto(live.url("/invoices"))
    cancelled = page.request.post(live.url(f"/invoices/{numbers['02']}/cancel"),
                                  form={"csrf_token": page_csrf(page), "confirm": "1"})
    assert cancelled.ok
    return key, numbers


def rows(page):
    return page.locator("#history-rows tr")


def test_search_narrows_as_you_type(page, live, three):
    key, numbers = three
    page.goto(live.url("/invoices"))
    expect(page.get_by_role("heading", name="История счетов")).to_be_visible()
    assert rows(page).count() > 3

    search = page.locator("#q")
    search.press_sequentially(key)
    expect(rows(page)).to_have_count(3)
    expect(page).to_have_url(re.compile(rf"[?&]q={key}(&|$)"))
    search.press_sequentially("0")
    expect(rows(page)).to_have_count(2)
    search.press_sequentially("1")
    expect(rows(page)).to_have_count(1)
    row = rows(page).first
    expect(row).to_have_id(f"invoice-{numbers['01']}")
    expect(row).to_contain_text(f"Демо ПА, ЛИЦ. СЧЕТ: {key}01")
    search.press_sequentially("9")
    expect(rows(page)).to_have_text(["Ничего не найдено. Измените поиск или фильтр."])
    # The invoice number finds it too.
    search.fill(str(numbers["11"]))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_id(f"invoice-{numbers['11']}")


def test_status_filter(page, live, three):
    key, numbers = three
    page.goto(live.url(f"/invoices?q={key}"))
    expect(rows(page)).to_have_count(3)
    page.select_option("#status", label="Отменен")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_id(f"invoice-{numbers['02']}")
    expect(rows(page).first.locator(".status")).to_contain_text("отменен")
    page.select_option("#status", label="Выставлен")
    expect(rows(page)).to_have_count(2)
    for row in rows(page).all():
        expect(row.locator(".status")).to_contain_text("выставлен")
    page.select_option("#status", label="Все")
    expect(rows(page)).to_have_count(3)


def test_back_button_restores_the_previous_search(page, live, three):
    key, numbers = three
    page.goto(live.url("/invoices"))
    page.fill("#q", key)
    expect(rows(page)).to_have_count(3)
    expect(page).to_have_url(re.compile(rf"q={key}(&|$)"))
    page.fill("#q", key + "11")
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"q={key}11(&|$)"))

    page.go_back()
    expect(page.locator("#q")).to_have_value(key)
    expect(rows(page)).to_have_count(3)
    page.go_forward()
    expect(page.locator("#q")).to_have_value(key + "11")
    expect(rows(page)).to_have_count(1)


def test_invoice_dialog_opens_and_closes(page, live, three):
    key, numbers = three
    number = numbers["01"]
    page.goto(live.url(f"/invoices?q={key}01"))
    expect(rows(page)).to_have_count(1)
    dialog = page.locator("dialog#invoice-dialog[open]")

    page.get_by_role("link", name=f"Инвойс № {number}").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("#invoice-dialog-title")).to_have_text(f"Инвойс № {number}")
    expect(dialog).to_contain_text("Статус: выставлен")
    expect(dialog.locator(".events")).to_contain_text("выставлен")
    expect(dialog.locator(".invoice")).to_contain_text(f"{key}01")
    dialog.get_by_role("button", name="Закрыть").click()
    expect(page.locator("dialog#invoice-dialog")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/invoices\?q={key}01$"))

    rows(page).first.locator(".icon-link").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog#invoice-dialog")).to_have_count(0)

    # «Открыть страницей»: the same invoice on a page of its own.
    rows(page).first.locator(".icon-link").click()
    dialog.get_by_role("link", name="Открыть страницей").click()
    expect(page).to_have_url(live.url(f"/invoices/{number}"))
    expect(page.get_by_role("heading", name=f"Инвойс № {number}")).to_be_visible()


def test_totals_load_after_the_rows(page, live, three):
    key, _ = three
    page.goto(live.url(f"/invoices?q={key}"))
    totals = page.locator(".totals")
    expect(totals.locator(".status-issued")).to_have_text("выставлен: 2 · 200,00\u00a0₽")
    expect(totals.locator(".status-cancelled")).to_have_text("отменен: 1 · 100,00\u00a0₽")
    expect(totals.locator(".status")).to_have_count(2)
