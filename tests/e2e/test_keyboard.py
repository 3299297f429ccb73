"""Keyboard only: the issue form and the history work without a mouse, and every field has a label."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import issue, payer_link, unique_email, unique_key, unlabelled_fields

pytestmark = pytest.mark.e2e


def focused(locator):
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, locator, limit=40):
    """Press Tab until the element has the focus, as a keyboard user walks a page."""
    for _ in range(limit):
        if focused(locator):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def test_issue_form_by_keyboard(page, live):
    account, payer = unique_key(), unique_email("keys")
    page.goto(live.url("/invoices/new"))
    tab_to(page, page.locator("#service"))
    page.keyboard.press("Tab")
    expect(page.locator("#payer_phone")).to_be_focused()
    page.keyboard.type("902 637-65-77")
    page.keyboard.press("Tab")
    expect(page.locator("#payer_email")).to_be_focused()
    page.keyboard.type(payer)
    page.keyboard.press("Tab")
    expect(page.locator("#req-account")).to_be_focused()
    page.keyboard.type(account)
    page.keyboard.press("Tab")
    expect(page.locator("#req-fio")).to_be_focused()
    page.keyboard.type("Сидоров Пётр")
    # «Дополнительные параметры» opens with Enter on its summary.
    page.keyboard.press("Tab")
    expect(page.locator("details.more summary")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("details.more")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(page.locator("#req-address")).to_be_focused()
    page.keyboard.type("ул. Ленина, 1")
    tab_to(page, page.locator("#amount"))
    page.keyboard.type("500")
    expect(page.locator("#commission strong").first).to_have_text("7,50\u00a0₽")

    # Enter in a field submits with the form's first button, «Просмотр».
    page.keyboard.press("Enter")
    preview = page.locator("dialog#preview-dialog[open]")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("ул. Ленина, 1")
    tab_to(page, preview.get_by_role("button", name="Выставить"), limit=10)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/invoices/\d+$"))
    number = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-success")).to_have_text(f"Счет № {number} выставлен")
    live.mail.wait(payer, subject=f"Счет № {number} ")


def test_escape_closes_the_preview_and_keeps_the_form(page, live):
    page.goto(live.url("/invoices/new"))
    page.fill("#req-account", "12345")
    page.fill("#req-fio", "Иванов Иван")
    page.fill("#payer_phone", "9026376577")
    page.fill("#amount", "10")
    page.locator("#amount").press("Enter")
    expect(page.locator("dialog#preview-dialog[open]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog#preview-dialog")).to_have_count(0)
    expect(page.locator("#req-account")).to_have_value("12345")


def test_history_by_keyboard(page, live):
    key = unique_key()
    numbers = [issue(page, live, key + suffix, email=unique_email("kh")) for suffix in ("1", "2")]
    page.goto(live.url("/invoices"))
    tab_to(page, page.locator("#q"))
    page.keyboard.type(key)
    rows = page.locator("#history-rows tr")
    expect(rows).to_have_count(2)
    page.keyboard.type("2")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_id(f"invoice-{numbers[1]}")
    page.keyboard.press("Backspace")
    expect(rows).to_have_count(2)

    # The status filter: arrow keys pick «Выставлен».
    page.keyboard.press("Tab")
    expect(page.locator("#status")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#status")).to_have_value("issued")
    expect(page).to_have_url(re.compile(r"status=issued"))
    expect(rows).to_have_count(2)

    # Enter in the search box submits the form like «Найти».
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.press("End")  # Tab selects the whole text; add to it instead
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"q={key}1&status=issued"))
    expect(rows).to_have_count(1)

    # The «Инвойс» link opens the dialog with Enter; Escape closes it.
    tab_to(page, page.get_by_role("link", name=f"Инвойс № {numbers[0]}"))
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#invoice-dialog[open]")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog#invoice-dialog")).to_have_count(0)


@pytest.mark.parametrize("path", ["/invoices/new", "/invoices", "/settings", "/settings/services",
                                  "/password"])
def test_every_field_has_a_label(page, live, path):
    page.goto(live.url(path))
    for summary in page.locator("details summary").all():
        summary.click()
    assert unlabelled_fields(page) == []


def test_every_field_has_a_label_in_dialogs_and_other_services(page, live):
    number = issue(page, live, unique_key(), email=unique_email("labels"))
    page.goto(live.url("/invoices/new"))
    page.select_option("#service", index=1)
    expect(page.get_by_label("НОМЕР ЗАКАЗА")).to_be_visible()
    for summary in page.locator("details summary").all():
        summary.click()
    assert unlabelled_fields(page) == []
    page.goto(live.url(f"/invoices?q={number}"))
    page.get_by_role("link", name=f"Инвойс № {number}").click()
    expect(page.locator("dialog#invoice-dialog[open]")).to_be_visible()
    assert unlabelled_fields(page) == []


@pytest.mark.parametrize("path", ["/login", "/recover"])
def test_every_field_has_a_label_at_the_door(context_factory, live, path):
    page = context_factory().new_page()
    page.goto(live.url(path))
    assert unlabelled_fields(page) == []


def test_every_field_has_a_label_on_the_card_form(page, live, context_factory):
    payer = unique_email("cardlabels")
    issue(page, live, unique_key(), email=payer)
    phone = context_factory().new_page()
    phone.goto(payer_link(live.mail.wait(payer)))
    phone.get_by_role("button", name="Оплатить банковской картой").click()
    expect(phone.locator("#number")).to_be_visible()
    assert unlabelled_fields(phone) == []
