"""The payer (§2.4–2.6, §4.8) on a 360×740 phone: the link from the e-mail, the demo card form."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import issue, payer_link, unique_email, unique_key

pytestmark = pytest.mark.e2e

CARD_WAIT = 30_000  # the worker confirms through the signed callback, usually within two seconds


def mailed_link(page, live, amount="1000"):
    """The merchant issues an invoice; the payer's link, as the e-mail brought it."""
    payer = unique_email("payer")
    number = issue(page, live, unique_key(), email=payer, amount=amount)
    return number, payer, payer_link(live.mail.wait(payer))


def pay(page, card):
    """On the invoice page: «Оплатить банковской картой», then the demo gateway's card form."""
    page.get_by_role("button", name="Оплатить банковской картой").tap()
    expect(page).to_have_url(re.compile(r"/pay/demo/demo_[\w-]+$"))
    expect(page.locator(".test-mode")).to_contain_text("ТЕСТОВЫЙ РЕЖИМ")
    expect(page.locator(".pay-total")).to_contain_text("1\u00a0015,00\u00a0₽")
    page.fill("#number", card)
    page.fill("#expiry", "12/30")
    page.fill("#cvc", "123")
    page.fill("#holder", "IVAN IVANOV")
    page.get_by_role("button", name="Оплатить 1\u00a0015,00\u00a0₽").tap()


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_payer_pays_by_card_on_a_phone(page, live, payer_phone_page):
    number, payer, link = mailed_link(page, live)
    phone = payer_phone_page
    phone.goto(link)
    expect(phone.locator(".invoice-title")).to_have_text(f"Вам выставлен счет № {number}")
    expect(phone.locator(".pay-box")).to_contain_text("К оплате картой: 1\u00a0015,00\u00a0₽")
    expect(phone.get_by_role("img", name="QR-код для оплаты в приложении банка")).to_be_visible()
    assert fits_the_screen(phone), "the payer page scrolls sideways on a 360 px phone"

    pay(phone, "4242 4242 4242 4242")
    expect(phone.get_by_text("Оплата прошла")).to_be_visible(timeout=CARD_WAIT)
    assert fits_the_screen(phone)
    phone.get_by_role("link", name="Вернуться к счету").tap()
    expect(phone.locator(".flash-success")).to_have_text("Счет оплачен. Спасибо!")
    expect(phone.get_by_role("button", name="Оплатить банковской картой")).to_have_count(0)

    receipt = live.mail.wait(payer, subject=f"Платеж по счету № {number} получен")
    assert "Спасибо" in receipt.get_body(("plain",)).get_content()
    live.mail.wait("shop@example.com", subject=f"Счет № {number} оплачен")
    # The merchant sees it paid in the history.
    page.goto(live.url(f"/invoices?q={number}"))
    expect(page.locator(f"#invoice-{number} .status")).to_contain_text("оплачен")


def test_declined_card_says_so_and_the_invoice_stays_payable(page, live, payer_phone_page):
    number, _, link = mailed_link(page, live)
    phone = payer_phone_page
    phone.goto(link)
    pay(phone, "4000 0000 0000 0002")
    expect(phone.locator(".flash-error")).to_contain_text("Платеж отклонен", timeout=CARD_WAIT)
    expect(phone.get_by_text("Деньги не списаны")).to_be_visible()
    phone.get_by_role("link", name="Попробовать другую карту").tap()
    expect(phone.get_by_role("button", name="Оплатить банковской картой")).to_be_visible()
    page.goto(live.url(f"/invoices?q={number}"))
    expect(page.locator(f"#invoice-{number} .status")).to_contain_text("выставлен")


def test_a_mistyped_card_number_is_pointed_out(page, live, payer_phone_page):
    _, _, link = mailed_link(page, live)
    phone = payer_phone_page
    phone.goto(link)
    pay(phone, "4242 4242 4242 4241")
    expect(phone.locator(".error")).to_have_text("Номер карты введен с ошибкой")
    expect(phone.get_by_text("Оплата прошла")).to_have_count(0)


def test_expired_invoice_cannot_be_paid(page, live, payer_phone_page):
    number, _, link = mailed_link(page, live)
    token = link.rsplit("/", 1)[1]
    live.sql("UPDATE invoice SET expires_at = '2000-01-01 00:00:00' WHERE token = ?", token)
    # The live worker's own expiry job may get there first: either way the invoice is expired.
    live.job("expire")
    assert live.sql("SELECT status FROM invoice WHERE token = ?", token) == [("expired",)]
    phone = payer_phone_page
    phone.goto(link)
    expect(phone.locator(".flash-error")).to_contain_text("Срок оплаты счета истек")
    expect(phone.get_by_role("button", name="Оплатить банковской картой")).to_have_count(0)
    expect(phone.get_by_role("img", name="QR-код для оплаты в приложении банка")).to_have_count(0)
    expect(phone.locator(".invoice-title")).to_have_text(f"Вам выставлен счет № {number}")
