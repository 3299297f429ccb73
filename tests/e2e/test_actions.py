"""§6 actions on an invoice: from its row and from the «Инвойс» dialog; refusals; send; repeat."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import issue, page_csrf, unique_email, unique_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def invoice(page, live):
    """An issued invoice of this test, shown alone in the history; (number, payer e-mail)."""
    payer = unique_email("act")
    key = unique_key()
    number = issue(page, live, key, email=payer, phone="9026376577")
    page.goto(live.url(f"/invoices?q={key}"))
    expect(page.locator("#history-rows tr")).to_have_count(1)
    return number, payer


def toast(page):
    return page.locator("#toast:not([hidden])")


def accept_next_confirm(page, expected):
    """window.confirm asks; the merchant reads it and agrees."""
    def answer(dialog):
        assert dialog.type == "confirm"
        assert dialog.message == expected
        dialog.accept()

    page.once("dialog", answer)


def test_remind_from_the_row(page, live, invoice):
    number, payer = invoice
    row = page.locator(f"#invoice-{number}")
    row.get_by_role("button", name="Напомнить").click()
    expect(toast(page)).to_have_text(f"Напоминание по счету № {number} отправлено")
    expect(toast(page)).not_to_have_class(re.compile(r"\berror\b"))
    expect(row.locator(".status")).to_contain_text("выставлен")
    mail = live.mail.wait(payer, subject="Напоминание:")
    assert mail["Subject"].startswith(f"Напоминание: Счет № {number} ")
    assert "Напоминаем: этот счет ждет оплаты." in mail.get_body(("plain",)).get_content()


def test_mark_paid_other_way_from_the_row(page, live, invoice):
    number, _ = invoice
    row = page.locator(f"#invoice-{number}")
    accept_next_confirm(page, f"Отметить счет № {number} оплаченным другим способом?")
    row.get_by_role("button", name="Оплачен другим способом").click()
    expect(row.locator(".status")).to_have_text("✔ оплачен (другим способом)")
    expect(toast(page)).to_have_text(f"Счет № {number} отмечен как оплаченный другим способом")
    # A paid invoice offers no more actions, and the page was never reloaded.
    expect(row.get_by_role("button")).to_have_count(0)
    expect(page.locator("#q")).not_to_have_value("")


def test_cancel_from_the_row_asks_first(page, live, invoice):
    number, _ = invoice
    row = page.locator(f"#invoice-{number}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Отменить").click()
    # Saying no leaves it as it was.
    expect(row.get_by_role("button", name="Напомнить")).to_be_visible()
    accept_next_confirm(page, f"Отменить счет № {number}?")
    row.get_by_role("button", name="Отменить").click()
    expect(row.locator(".status")).to_have_text("✖ отменен")
    expect(toast(page)).to_have_text(f"Счет № {number} отменен")
    expect(row.get_by_role("button")).to_have_count(0)


def test_refused_action_on_a_stale_page_shows_an_error(page, live, invoice):
    number, _ = invoice
    row = page.locator(f"#invoice-{number}")
    # Someone cancels the invoice in another tab; this page still offers «Напомнить».
    response = page.request.post(live.url(f"/invoices/{number}/cancel"),
                                 form={"csrf_token": page_csrf(page), "confirm": "1"})
    assert response.ok
    expect(row.locator(".status")).to_contain_text("выставлен")
    row.get_by_role("button", name="Напомнить").click()
    error = page.locator("#toast.error:not([hidden])")
    expect(error).to_have_text("Напомнить можно только о выставленном, еще не истекшем счете: этот счет отменен.")
    # The row now tells the truth.
    expect(row.locator(".status")).to_have_text("✖ отменен")
    expect(row.get_by_role("button")).to_have_count(0)


def open_dialog(page, number):
    page.get_by_role("link", name=f"Инвойс № {number}").click()
    dialog = page.locator("dialog#invoice-dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#invoice-dialog-title")).to_have_text(f"Инвойс № {number}")
    return dialog


def test_actions_from_the_dialog(page, live, invoice):
    number, payer = invoice
    dialog = open_dialog(page, number)
    dialog.get_by_role("button", name="Напомнить").click()
    expect(toast(page)).to_have_text(f"Напоминание по счету № {number} отправлено")
    expect(dialog.locator(".events")).to_contain_text("напоминание")
    live.mail.wait(payer, subject="Напоминание:")

    accept_next_confirm(page, f"Отменить счет № {number}?")
    dialog.get_by_role("button", name="Отменить").click()
    expect(dialog).to_contain_text("Статус: отменен")
    expect(toast(page)).to_have_text(f"Счет № {number} отменен")
    expect(dialog.get_by_role("button", name="Напомнить")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Отправить")).to_have_count(0)
    # The row behind the dialog changed as well.
    expect(page.locator(f"#invoice-{number} .status")).to_have_text("✖ отменен")
    dialog.get_by_role("button", name="Закрыть").click()
    expect(page.locator("dialog#invoice-dialog")).to_have_count(0)
    expect(page.locator(f"#invoice-{number} .status")).to_have_text("✖ отменен")


def test_mark_paid_from_the_dialog(page, live, invoice):
    number, _ = invoice
    dialog = open_dialog(page, number)
    accept_next_confirm(page, f"Отметить счет № {number} оплаченным другим способом?")
    dialog.get_by_role("button", name="Оплачен другим способом").click()
    expect(dialog).to_contain_text("Статус: оплачен")
    expect(dialog.locator(".events")).to_contain_text("оплачен: другим способом")
    expect(page.locator(f"#invoice-{number} .status")).to_have_text("✔ оплачен (другим способом)")


def test_send_to_another_address(page, live, invoice):
    number, _ = invoice
    other = unique_email("accountant")
    dialog = open_dialog(page, number)
    dialog.get_by_label("Отправить счет на почту").fill("not an address")
    dialog.get_by_role("button", name="Отправить").click()
    expect(dialog.locator(".error")).to_have_text("Адрес эл. почты указан неверно")
    dialog.get_by_label("Отправить счет на почту").fill(other)
    dialog.get_by_role("button", name="Отправить").click()
    expect(toast(page)).to_have_text(f"Счет № {number} отправлен на {other}")
    expect(dialog.locator(".events")).to_contain_text(f"отправлен на другой адрес: {other}")
    mail = live.mail.wait(other)
    assert mail["Subject"].startswith(f"Счет № {number} от Демо-организация")
    expect(dialog.locator("#deliveries")).to_contain_text(other)


def test_repeat_shows_the_new_invoice(page, live, invoice):
    number, payer = invoice
    dialog = open_dialog(page, number)
    dialog.get_by_role("button", name="Повторить инвойс").click()
    title = dialog.locator("#invoice-dialog-title")
    expect(title).not_to_have_text(f"Инвойс № {number}")
    new = int(re.search(r"№ (\d+)", title.inner_text()).group(1))
    assert new > number
    expect(toast(page)).to_have_text(f"Выставлен счет № {new}, повтор счета № {number}")
    expect(dialog).to_contain_text(f"Повтор счета № {number}")
    # The new invoice heads the history and goes to the payer again.
    expect(page.locator("#history-rows tr").first).to_have_id(f"invoice-{new}")
    live.mail.wait(payer, subject=f"Счет № {new} ")


def test_repeat_from_the_invoice_page(page, live, invoice):
    number, _ = invoice
    page.goto(live.url(f"/invoices/{number}"))
    page.get_by_role("button", name="Повторить инвойс").click()
    expect(page).not_to_have_url(live.url(f"/invoices/{number}"))
    new = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-success")).to_have_text(f"Выставлен счет № {new}, повтор счета № {number}")
    expect(page.get_by_role("heading", name=f"Инвойс № {new}")).to_be_visible()
