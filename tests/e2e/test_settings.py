"""§7 «Настройки»: default validity, copies of invoices, renaming a service.

These change the merchant's settings, so they run as the second demo merchant
(9000000001) and leave the first one as the other tests expect it.
"""
import pytest
from playwright.sync_api import expect

from .conftest import issue, unique_email, unique_key

pytestmark = pytest.mark.e2e


def save(page):
    page.click("button:has-text('Сохранить')")
    expect(page.locator(".flash-success")).to_have_text("Настройки сохранены")


def test_default_validity_fills_the_issue_form(settings_page, live):
    page = settings_page
    page.goto(live.url("/invoices/new"))
    before = page.locator("#validity_hours").input_value()
    page.get_by_role("link", name="Настройки").click()
    expect(page.get_by_role("heading", name="Основные данные")).to_be_visible()
    field = page.get_by_label("Срок действия счета по умолчанию, часов")
    expect(field).to_have_value(before)
    field.fill("0")
    page.click("button:has-text('Сохранить')")
    expect(page.locator(".error")).to_have_text("От 1 до 2160 часов")
    page.get_by_label("Срок действия счета по умолчанию, часов").fill("48")
    save(page)
    expect(page.get_by_label("Срок действия счета по умолчанию, часов")).to_have_value("48")

    page.get_by_role("link", name="Выставить счет").click()
    expect(page.locator("#validity_hours")).to_have_value("48")


def test_copies_of_invoices_go_to_your_address(settings_page, live):
    page = settings_page
    mine, payer = unique_email("copies"), unique_email("payer")
    page.goto(live.url("/settings"))
    page.get_by_label("Дублировать счета на почту").check()
    page.get_by_label("Адрес для копий счетов").fill("")
    page.click("button:has-text('Сохранить')")
    expect(page.locator(".error")).to_have_text("Укажите адрес, на который дублировать счета")
    page.get_by_label("Адрес для копий счетов").fill(mine)
    save(page)
    expect(page.get_by_label("Дублировать счета на почту")).to_be_checked()
    expect(page.get_by_label("Адрес для копий счетов")).to_have_value(mine)

    page.goto(live.url("/invoices/new"))
    page.fill("#req-account", unique_key())
    page.fill("#req-fio", "Петрова Анна")
    page.fill("#payer_email", payer)
    page.fill("#amount", "250")
    page.click("button:has-text('Выставить')")
    expect(page.locator(".flash-success")).to_contain_text("выставлен")
    number = int(page.url.rsplit("/", 1)[1])

    copy = live.mail.wait(mine)
    assert copy["Subject"].startswith(f"Копия: Счет № {number} ")
    assert f"Копия счета, выставленного плательщику: {payer}" in copy.get_body(("plain",)).get_content()
    live.mail.wait(payer, subject=f"Счет № {number} ")
    expect(page.locator("#deliveries")).to_contain_text("копия вам")

    # Switched off, the next invoice comes without a copy.
    page.goto(live.url("/settings"))
    page.get_by_label("Дублировать счета на почту").uncheck()
    save(page)
    later = issue(page, live, unique_key(), email=payer)
    live.mail.wait(payer, subject=f"Счет № {later} ")
    assert len(live.mail.to(mine)) == 1


def test_renamed_service_shows_in_the_form_and_the_history(settings_page, live):
    page = settings_page
    key = unique_key()
    number = issue(page, live, key, email=unique_email("rename"))
    page.goto(live.url("/settings/services"))
    expect(page.locator(".service-name").first).to_have_text("Демо ПА")
    page.get_by_role("link", name="Изменить название услуги «Демо ПА»").click()
    dialog = page.locator("dialog#rename-dialog[open]")
    expect(dialog).to_be_visible()
    name = dialog.get_by_label("Название услуги")
    expect(name).to_have_value("Демо ПА")
    expect(name).to_be_focused()

    # «Отмена» changes nothing.
    dialog.get_by_role("link", name="Отмена").click()
    expect(page.locator("dialog#rename-dialog")).to_have_count(0)
    expect(page.locator(".service-name").first).to_have_text("Демо ПА")

    page.get_by_role("link", name="Изменить название услуги «Демо ПА»").click()
    name.fill("")
    dialog.get_by_role("button", name="Изменить").click()
    expect(dialog.locator(".error")).to_have_text("Название не может быть пустым")
    name.fill("Квартплата")
    dialog.get_by_role("button", name="Изменить").click()
    expect(page.locator("dialog#rename-dialog")).to_have_count(0)
    expect(page.locator(".service-name").first).to_have_text("Квартплата")

    page.get_by_role("link", name="Выставить счет").click()
    expect(page.locator("#service option").first).to_have_text(
        "Квартплата / Демо-организация / демо-услуга / Прочие")
    expect(page.locator("#requisites .service-head strong")).to_have_text("Квартплата")
    page.goto(live.url(f"/invoices?q={key}"))
    expect(page.locator(f"#invoice-{number}")).to_contain_text(f"Квартплата, ЛИЦ. СЧЕТ: {key}")
    page.fill("#q", "")
    expect(page.locator("#history-rows tr").first).to_contain_text("Квартплата")
