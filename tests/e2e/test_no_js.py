"""Without JavaScript every page still works as plain forms and links (progressive enhancement)."""
import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from .conftest import PHONE_VIEWPORT, issue, payer_link, unique_email, unique_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def plain(context_factory, merchant_state):
    """The demo merchant's browser with JavaScript switched off."""
    return context_factory(storage_state=merchant_state, java_script_enabled=False).new_page()


def test_issue_without_javascript(plain, live):
    page = plain
    account, payer = unique_key(), unique_email("nojs")
    page.goto(live.url("/invoices/new"))
    # Choosing another service is a button press away («Выбрать» appears only without JS).
    page.select_option("#service", index=1)
    page.click("button:has-text('Выбрать')")
    expect(page).to_have_url(re.compile(r"/invoices/new\?"))
    expect(page.get_by_label("НОМЕР ЗАКАЗА")).to_be_visible()
    expect(page.get_by_text("ЛИЦ. СЧЕТ")).to_have_count(0)
    page.select_option("#service", index=0)
    page.click("button:has-text('Выбрать')")
    expect(page.get_by_label("ЛИЦ. СЧЕТ")).to_be_visible()

    page.fill("#req-account", account)
    page.fill("#req-fio", "Кузнецова Мария")
    page.fill("#payer_email", payer)
    page.fill("#amount", "300")
    page.click("button:has-text('Просмотр')")
    expect(page).to_have_url(live.url("/invoices/preview"))
    expect(page.get_by_role("heading", name="Просмотр счета")).to_be_visible()
    expect(page.locator(".invoice")).to_contain_text(account)
    expect(page.locator(".invoice-sum")).to_contain_text("304,50\u00a0₽")

    with page.expect_response(lambda r: r.url == live.url("/invoices") and r.request.method == "POST") as post:
        page.click("button:has-text('Выставить')")
    assert post.value.status == 303
    expect(page).to_have_url(re.compile(r"/invoices/\d+$"))
    number = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-success")).to_have_text(f"Счет № {number} выставлен")
    expect(page.get_by_role("heading", name=f"Инвойс № {number}")).to_be_visible()
    live.mail.wait(payer, subject=f"Счет № {number} ")


def test_issue_form_errors_without_javascript(plain, live):
    page = plain
    page.goto(live.url("/invoices/new"))
    page.fill("#req-account", "12ab")
    page.fill("#amount", "1.001")
    page.click("button:has-text('Выставить')")
    expect(page.locator(".flash-error")).to_have_text("Проверьте поля, отмеченные красным.")
    expect(page.locator("#issue-form")).to_contain_text("Только цифры")
    expect(page.locator("#issue-form")).to_contain_text("не больше двух знаков после запятой")
    expect(page.locator("#req-account")).to_have_value("12ab")


def test_history_search_and_filter_without_javascript(plain, live):
    page = plain
    key = unique_key()
    numbers = [issue(page, live, key + suffix, email=unique_email("nojs")) for suffix in ("1", "2")]
    page.goto(live.url("/invoices"))
    page.fill("#q", key)
    page.click("button:has-text('Найти')")
    expect(page).to_have_url(re.compile(rf"/invoices\?q={key}&"))
    rows = page.locator("#history-rows tr")
    expect(rows).to_have_count(2)

    # Cancel one through its plain form: a confirmation page instead of window.confirm.
    rows.filter(has_text=f"{key}2").get_by_role("button", name="Отменить").click()
    expect(page.get_by_role("heading", name=f"Отменить счет № {numbers[1]}?")).to_be_visible()
    page.click("button:has-text('Отменить счет')")
    expect(page.locator(".flash-success")).to_have_text(f"Счет № {numbers[1]} отменен")
    expect(page).to_have_url(re.compile(rf"/invoices\?q={key}"))
    expect(page.locator(f"#invoice-{numbers[1]} .status")).to_contain_text("отменен")

    page.select_option("#status", label="Выставлен")
    page.click("button:has-text('Найти')")
    expect(page).to_have_url(re.compile(r"status=issued"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_id(f"invoice-{numbers[0]}")

    rows.first.get_by_role("button", name="Напомнить").click()
    expect(page.locator(".flash-success")).to_have_text(f"Напоминание по счету № {numbers[0]} отправлено")
    expect(page).to_have_url(re.compile(r"status=issued"))

    # The table is one form: each button posts its own invoice's route and comes back here.
    expect(page.locator("#history-actions input[name=csrf_token]")).to_have_count(1)
    rows.first.get_by_role("button", name="Оплачен другим способом").click()
    expect(page.locator(".flash-success")).to_have_text(
        f"Счет № {numbers[0]} отмечен как оплаченный другим способом")
    expect(page).to_have_url(re.compile(r"status=issued"))
    expect(rows).to_have_text(["Ничего не найдено. Измените поиск или фильтр."])


def test_invoice_page_without_javascript(plain, live):
    page = plain
    key = unique_key()
    number = issue(page, live, key, email=unique_email("nojs"))
    other = unique_email("nojs-other")
    page.goto(live.url(f"/invoices?q={key}"))
    page.get_by_role("link", name=f"Инвойс № {number}").click()
    expect(page).to_have_url(live.url(f"/invoices/{number}"))
    expect(page.get_by_role("heading", name=f"Инвойс № {number}")).to_be_visible()
    expect(page.locator(".details")).to_contain_text("Статус: выставлен")
    expect(page.locator(".invoice")).to_contain_text(key)

    page.get_by_label("Отправить счет на почту").fill(other)
    page.click("button:has-text('Отправить')")
    expect(page.locator(".flash-success")).to_have_text(f"Счет № {number} отправлен на {other}")
    live.mail.wait(other)

    page.click("button:has-text('Оплачен другим способом')")
    expect(page.locator(".flash-success")).to_have_text(f"Счет № {number} отмечен как оплаченный другим способом")
    expect(page.locator(".details")).to_contain_text("Статус: оплачен")

    page.click("button:has-text('Повторить инвойс')")
    expect(page).not_to_have_url(live.url(f"/invoices/{number}"))
    new = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-success")).to_have_text(f"Выставлен счет № {new}, повтор счета № {number}")


def test_pay_without_javascript(page, live, context_factory):
    payer = unique_email("nojs-payer")
    number = issue(page, live, unique_key(), email=payer, amount="1000")
    link = payer_link(live.mail.wait(payer))
    phone = context_factory(viewport=PHONE_VIEWPORT, java_script_enabled=False).new_page()
    phone.goto(link)
    expect(phone.locator(".invoice-title")).to_have_text(f"Вам выставлен счет № {number}")
    phone.click("button:has-text('Оплатить банковской картой')")
    expect(phone).to_have_url(re.compile(r"/pay/demo/"))
    phone.fill("#number", "4242424242424242")
    phone.fill("#expiry", "12/30")
    phone.fill("#cvc", "123")
    phone.fill("#holder", "IVAN IVANOV")
    phone.click("button:has-text('Оплатить 1')")
    expect(phone.get_by_text("Ждем подтверждения банка").or_(phone.get_by_text("Оплата прошла"))).to_be_visible()
    done = phone.get_by_text("Оплата прошла")
    # The result page refreshes itself (<meta http-equiv=refresh>); reload as an impatient payer would.
    deadline = time.monotonic() + 30
    while True:
        try:
            expect(done).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            try:
                phone.reload()
            except PlaywrightError:  # the page's own refresh got there first
                pass
    phone.click("text=Вернуться к счету")
    expect(phone.locator(".flash-success")).to_have_text("Счет оплачен. Спасибо!")


def test_positions_without_javascript(plain, live):
    page = plain
    account = unique_key()
    page.goto(live.url("/invoices/new"))
    page.click("summary:has-text('Позиции')")
    page.get_by_label("Позиция 1: наименование").fill("Монтаж")
    page.get_by_label("Позиция 1: цена").fill("1000")
    page.click("button:has-text('Добавить позицию')")
    # The whole form comes back with a second row and what was typed.
    expect(page.get_by_label("Позиция 1: наименование")).to_have_value("Монтаж")
    expect(page.locator("#pos-0-amount")).to_have_text("1\u00a0000,00\u00a0₽")
    page.get_by_label("Позиция 2: наименование").fill("Кабель")
    page.get_by_label("Позиция 2: количество").fill("12,5")
    page.get_by_label("Позиция 2: единица").select_option("м")
    page.get_by_label("Позиция 2: цена").fill("40")
    page.click("button:has-text('Добавить позицию')")
    page.get_by_role("button", name="Удалить позицию 3").click()
    expect(page.get_by_label("Позиция 3: наименование")).to_have_count(0)
    expect(page.locator("#positions-sum")).to_contain_text("Итого: 1\u00a0500,00\u00a0₽")
    expect(page.locator("#amount")).to_have_value("1500,00")

    page.fill("#req-account", account)
    page.fill("#req-fio", "Кузнецова Мария")
    page.fill("#payer_phone", "9026376577")
    page.click("button:has-text('Просмотр')")
    expect(page.locator(".invoice-positions tbody tr")).to_have_count(2)
    expect(page.locator(".invoice-sum")).to_contain_text("1\u00a0500,00\u00a0₽")
    page.click("button:has-text('Выставить')")
    expect(page).to_have_url(re.compile(r"/invoices/\d+$"))
    expect(page.locator(".invoice-positions")).to_contain_text("12,5 м")
