"""§4 «Выставить счет»: the service swaps its fields, extra parameters, live commission,
«Просмотр», «Выставить», and the e-mail that reaches the payer."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import payer_link, text_of, unique_email, unique_key

pytestmark = pytest.mark.e2e


def test_changing_the_service_swaps_its_fields(page, live):
    page.goto(live.url("/invoices/new"))
    requisites = page.locator("#requisites")
    expect(requisites.locator(".service-head")).to_contain_text("Демо ПА")
    expect(requisites.get_by_label("ЛИЦ. СЧЕТ")).to_be_visible()
    expect(requisites.get_by_text("НОМЕР ЗАКАЗА")).to_have_count(0)

    options = page.locator("#service option")
    expect(options).to_have_count(2)
    delivery = options.nth(1).inner_text()
    assert delivery.startswith("Доставка / ")
    page.select_option("#service", label=delivery)

    expect(requisites.get_by_label("НОМЕР ЗАКАЗА")).to_be_visible()
    expect(requisites.get_by_text("ЛИЦ. СЧЕТ")).to_have_count(0)
    expect(requisites.locator(".service-head")).to_contain_text("ООО «Пермская доставка»")
    # The payer block stays, the back-and-forth works.
    expect(page.locator("#payer_phone")).to_be_visible()
    page.select_option("#service", index=0)
    expect(requisites.get_by_label("ЛИЦ. СЧЕТ")).to_be_visible()
    expect(requisites.get_by_text("НОМЕР ЗАКАЗА")).to_have_count(0)


def test_additional_parameters_open_and_show_the_address(page, live):
    page.goto(live.url("/invoices/new"))
    more = page.locator("details.more")
    address = page.get_by_label("АДРЕС", exact=True)
    expect(more).not_to_have_attribute("open", "")
    expect(address).to_be_hidden()
    page.click("summary:has-text('Дополнительные параметры')")
    expect(more).to_have_attribute("open", "")
    expect(address).to_be_visible()
    expect(page.get_by_label("МЕСЯЦ ММ.ГГГГ", exact=True)).to_be_visible()


def test_commission_follows_the_amount_as_you_type(page, live):
    page.goto(live.url("/invoices/new"))
    commission = page.locator("#commission")
    amount = page.locator("#amount")
    amount.press_sequentially("100")
    expect(commission.locator("strong").first).to_have_text("1,50\u00a0₽")
    expect(commission).to_contain_text("Предполагаемая комиссия")
    expect(commission.locator("strong").nth(1)).to_have_text("101,50\u00a0₽")
    amount.press_sequentially("0")
    expect(commission.locator("strong").first).to_have_text("15,00\u00a0₽")
    # Another service, another rule: Доставка takes 2 % but at least 10 rubles.
    page.select_option("#service", index=1)
    amount.fill("100")
    expect(commission.locator("strong").first).to_have_text("10,00\u00a0₽")
    amount.fill("12,345")
    expect(commission.locator("strong")).to_have_count(0)


def fill_invoice(page, account, email, amount="1500,00"):
    page.fill("#req-account", account)
    page.fill("#req-fio", "Иванов Иван Иванович")
    page.fill("#payer_phone", "9026376577")
    page.fill("#payer_email", email)
    page.fill("#amount", amount)
    expect(page.locator("#commission strong").first).to_have_text("22,50\u00a0₽")


def test_preview_then_issue_and_the_payer_gets_the_mail(page, live, context_factory):
    account, payer = unique_key(), unique_email("payer")
    page.goto(live.url("/invoices/new"))
    fill_invoice(page, account, payer)
    page.click("button:has-text('Просмотр')")
    preview = page.locator("dialog#preview-dialog[open]")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Так счет увидит плательщик. Счет еще не выставлен.")
    expect(preview).to_contain_text(account)
    expect(preview.locator(".invoice-sum")).to_contain_text("1\u00a0500,00\u00a0₽")

    # «Изменить» closes the preview and keeps what was typed.
    preview.locator("button:has-text('Изменить')").click()
    expect(page.locator("dialog#preview-dialog")).to_have_count(0)
    expect(page.locator("#req-account")).to_have_value(account)

    page.click("button:has-text('Просмотр')")
    page.locator("dialog#preview-dialog[open] button:has-text('Выставить')").click()
    expect(page).to_have_url(re.compile(r"/invoices/\d+$"))
    number = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-success")).to_have_text(f"Счет № {number} выставлен")
    expect(page.get_by_role("heading", name=f"Инвойс № {number}")).to_be_visible()

    mail = live.mail.wait(payer)
    assert mail["Subject"].startswith(f"Счет № {number} от Демо-организация на 1 500,00 ₽")
    body = text_of(mail)
    assert f"ЛИЦ. СЧЕТ: {account}" in body
    link = payer_link(mail)
    assert link.startswith(live.url("/i/"))
    # The page records both deliveries once the worker has sent them.
    expect(page.locator("#deliveries")).to_contain_text(payer)
    expect(page.locator("#deliveries tr.delivery-sent")).to_have_count(2, timeout=20_000)

    stranger = context_factory().new_page()
    stranger.goto(link)
    expect(stranger.locator(".invoice-title")).to_have_text(f"Вам выставлен счет № {number}")
    expect(stranger.get_by_role("button", name="Оплатить банковской картой")).to_be_visible()
    expect(stranger.locator(".invoice")).to_contain_text(account)


def test_the_form_says_what_is_missing(page, live):
    page.goto(live.url("/invoices/new"))
    page.click("button:has-text('Выставить')")
    expect(page.locator(".flash-error")).to_have_text("Проверьте поля, отмеченные красным.")
    expect(page.locator("#issue-form")).to_contain_text("Укажите телефон или эл. адрес плательщика")
    expect(page.locator("#issue-form")).to_contain_text("Заполните поле «ЛИЦ. СЧЕТ»")
    expect(page.locator("#issue-form")).to_contain_text("Укажите сумму")
    expect(page).to_have_url(live.url("/invoices/new"))
