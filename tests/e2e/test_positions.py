"""«Позиции» and «Покупатель» on the issue form (issue 15): rows added and removed, the sum live,
the invoice issued with them, and the payer's e-mail listing them."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import text_of, unique_email, unique_key

pytestmark = pytest.mark.e2e


def test_positions_sum_live_and_the_invoice_keeps_them(page, live):
    account, payer = unique_key(), unique_email("positions")
    page.goto(live.url("/invoices/new"))
    positions = page.locator("#positions")
    expect(positions).not_to_have_attribute("open", "")
    page.click("summary:has-text('Позиции')")

    page.get_by_label("Позиция 1: наименование").fill("Консультация юриста")
    page.get_by_label("Позиция 1: количество").fill("1,5")
    page.get_by_label("Позиция 1: единица").select_option("ч")
    page.get_by_label("Позиция 1: цена").fill("2000")
    page.get_by_label("Позиция 1: ставка НДС").select_option("20")
    expect(page.locator("#pos-0-amount")).to_have_text("3\u00a0000,00\u00a0₽")
    expect(page.locator("#positions-sum")).to_contain_text("Итого: 3\u00a0000,00\u00a0₽")
    expect(page.locator("#positions-sum")).to_contain_text("в том числе НДС 500,00\u00a0₽")
    amount = page.locator("#amount")
    expect(amount).to_have_value("3000,00")
    expect(amount).to_have_attribute("readonly", "")
    expect(page.locator("#commission strong").first).to_have_text("45,00\u00a0₽")

    page.click("button:has-text('Добавить позицию')")
    second = page.get_by_label("Позиция 2: наименование")
    expect(second).to_be_visible()
    second.fill("Выезд")
    page.get_by_label("Позиция 2: цена").fill("500,50")
    expect(page.locator("#positions-sum")).to_contain_text("Итого: 3\u00a0500,50\u00a0₽")
    page.click("button:has-text('Добавить позицию')")
    page.get_by_label("Позиция 3: наименование").fill("Лишнее")
    page.get_by_label("Позиция 3: цена").fill("1")
    expect(amount).to_have_value("3501,50")
    page.get_by_role("button", name="Удалить позицию 3").click()
    expect(page.get_by_label("Позиция 3: наименование")).to_have_count(0)
    expect(amount).to_have_value("3500,50")
    # What was typed in the rows that stay is kept.
    expect(page.get_by_label("Позиция 1: наименование")).to_have_value("Консультация юриста")

    page.click("summary:has-text('Покупатель')")
    page.fill("#payer_org_name", "ООО «Ромашка»")
    page.fill("#payer_org_inn", "7707083893")
    page.fill("#payer_org_kpp", "773601001")
    page.fill("#req-account", account)
    page.fill("#req-fio", "Иванов Иван Иванович")
    page.fill("#payer_email", payer)

    page.click("button:has-text('Просмотр')")
    preview = page.locator("dialog#preview-dialog[open]")
    expect(preview.locator(".invoice-positions")).to_contain_text("Консультация юриста")
    expect(preview.locator(".invoice-sum")).to_contain_text("3\u00a0500,50\u00a0₽")
    expect(preview).to_contain_text("ООО «Ромашка»")
    preview.locator("button:has-text('Выставить')").click()
    expect(page).to_have_url(re.compile(r"/invoices/\d+$"))
    number = int(page.url.rsplit("/", 1)[1])
    document = page.locator(".invoice")
    expect(document.locator(".invoice-positions tbody tr")).to_have_count(2)
    expect(document).to_contain_text("В том числе НДС")

    body = text_of(live.mail.wait(payer))
    assert f"№ {number}" in body
    assert "1. Консультация юриста: 1,5 ч × 2\u00a0000,00\u00a0₽ = 3\u00a0000,00\u00a0₽ (НДС 20 %)" in body
    assert "Покупатель: ООО «Ромашка», ИНН/КПП 7707083893/773601001" in body


def test_a_bad_row_is_marked_and_enter_still_previews(page, live):
    page.goto(live.url("/invoices/new"))
    page.click("summary:has-text('Позиции')")
    page.get_by_label("Позиция 1: наименование").fill("Товар")
    page.get_by_label("Позиция 1: количество").fill("1,2345")
    page.get_by_label("Позиция 1: цена").fill("10")
    expect(page.locator("#pos-0-amount")).to_have_text("—")
    page.click("button:has-text('Выставить')")
    expect(page.locator(".flash-error")).to_have_text("Проверьте поля, отмеченные красным.")
    quantity = page.get_by_label("Позиция 1: количество")
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#positions")).to_contain_text("Количество — число, не больше трех знаков после запятой")

    quantity.fill("2")
    page.fill("#req-account", unique_key())
    page.fill("#req-fio", "Иванов Иван Иванович")
    page.fill("#payer_phone", "9026376577")
    page.get_by_label("Позиция 1: наименование").press("Enter")
    preview = page.locator("dialog#preview-dialog[open]")
    expect(preview.locator(".invoice-sum")).to_contain_text("20,00\u00a0₽")
