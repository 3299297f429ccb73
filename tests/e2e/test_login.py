"""§3 login and logout, §8 password recovery: what a merchant sees at the door.

Logging out ends every session of the merchant, so these tests use their own
merchant (9000000002) and never touch the sessions the other tests share.
"""
import re

import pytest
from playwright.sync_api import expect

from .conftest import DOOR_PHONE, PASSWORD, login

ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0 Mobile Safari/537.36")

pytestmark = pytest.mark.e2e


def test_login_with_any_phone_spelling_then_logout(context_factory, live):
    page = context_factory().new_page()
    page.goto(live.url("/"))
    expect(page).to_have_url(live.url("/login"))
    expect(page.get_by_role("heading", name="Вход в Личный кабинет")).to_be_visible()

    page.fill("#phone", "+7 (900) 000-00-02")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Войти')")
    expect(page).to_have_url(live.url("/invoices/new"))
    expect(page.get_by_role("heading", name="Выставить счет")).to_be_visible()
    expect(page.locator(".who")).to_have_text("Демо-магазин 3 · Владелец")
    nav = page.get_by_role("navigation", name="Разделы кабинета")
    for tab in ("Выставить счет", "История счетов", "Настройки"):
        expect(nav.get_by_role("link", name=tab)).to_be_visible()

    page.click("button:has-text('Выйти')")
    expect(page).to_have_url(live.url("/login"))
    expect(page.locator("button:has-text('Выйти')")).to_have_count(0)
    # The session is over: the cabinet sends you back to the door.
    page.goto(live.url("/invoices"))
    expect(page).to_have_url(re.compile(re.escape(live.url("/login")) + r"\?next="))
    expect(page.locator(".flash")).to_contain_text("Войдите в личный кабинет, чтобы продолжить")


def test_logout_ends_this_session_only_and_sessions_end_from_the_list(context_factory, live):
    """Two people at two computers: one pressing «Выйти» does not throw the other out; a session
    is ended from «Сеансы» on another device."""
    laptop, phone = context_factory().new_page(), context_factory(user_agent=ANDROID).new_page()
    login(laptop, live, DOOR_PHONE)
    login(phone, live, DOOR_PHONE)
    laptop.click("button:has-text('Выйти')")
    expect(laptop).to_have_url(live.url("/login"))
    phone.get_by_role("link", name="История счетов").click()
    expect(phone.get_by_role("heading", name="История счетов")).to_be_visible()

    login(laptop, live, DOOR_PHONE)
    laptop.get_by_role("link", name="Настройки").click()
    laptop.get_by_role("link", name="Сеансы").click()
    row = laptop.locator("tr", has_text="Chrome, Android")
    expect(laptop.locator("tr", has_text="этот сеанс")).to_have_count(1)
    row.get_by_role("button", name="Завершить").click()
    expect(laptop.locator(".flash-success")).to_have_text("Сеанс завершен")
    expect(laptop.locator("tr", has_text="Chrome, Android")).to_have_count(0)
    phone.reload()
    expect(phone).to_have_url(re.compile(re.escape(live.url("/login")) + r"\?next="))


def test_login_returns_to_the_page_asked_for(context_factory, live):
    page = context_factory().new_page()
    page.goto(live.url("/settings"))
    expect(page).to_have_url(re.compile(re.escape(live.url("/login")) + r"\?next="))
    page.fill("#phone", DOOR_PHONE)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Войти')")
    expect(page).to_have_url(live.url("/settings"))
    expect(page.get_by_role("heading", name="Настройки")).to_be_visible()


def test_wrong_password_is_refused(context_factory, live):
    page = context_factory().new_page()
    page.goto(live.url("/login"))
    page.fill("#phone", DOOR_PHONE)
    page.fill("#password", "not the password")
    page.click("button:has-text('Войти')")
    expect(page.locator(".error")).to_have_text("Неверный телефон или пароль")
    expect(page).to_have_url(live.url("/login"))
    expect(page.locator("#phone")).to_have_value(DOOR_PHONE)
    login(page, live, DOOR_PHONE)  # and the right password still works


def test_recovery_shows_the_captcha_and_refuses_a_wrong_answer(context_factory, live):
    page = context_factory().new_page()
    page.goto(live.url("/login"))
    with page.expect_response(re.compile(r"/captcha\.png")) as captcha:
        page.click("text=Вспомнить пароль")
    expect(page).to_have_url(live.url("/recover"))
    expect(page.get_by_role("heading", name="Восстановление пароля")).to_be_visible()
    assert captcha.value.status == 200
    assert captcha.value.headers["content-type"] == "image/png"
    image = page.locator("#captcha-image")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 0

    # «↻» shows another picture without leaving the form.
    with page.expect_response(re.compile(r"/captcha\.png\?")) as fresh:
        page.get_by_role("link", name="Показать другой код").click()
    assert fresh.value.status == 200
    expect(page).to_have_url(live.url("/recover"))

    page.fill("#phone", DOOR_PHONE)
    page.fill("#captcha", "00000")
    page.click("button:has-text('Восстановить')")
    expect(page.locator(".error")).to_contain_text("Код с картинки введен неверно")
    expect(page.locator(".flash-success")).to_have_count(0)
    # A new picture comes with the refusal, and the wrong answer is not kept.
    page.wait_for_load_state("load")
    assert page.locator("#captcha-image").evaluate("img => img.complete && img.naturalWidth") > 0
    expect(page.locator("#captcha")).to_have_value("")
