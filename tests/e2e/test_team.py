"""«Сотрудники» in a browser: the owner invites an accountant, who sets a password by the SMS link
and works in their role; what the role may not do is refused with the reason."""
import re

import pytest
from playwright.sync_api import expect

from live import wait_for

from .conftest import SETTINGS_PHONE, login

pytestmark = pytest.mark.e2e
INVITE = re.compile(r"http://127\.0\.0\.1:\d+/invite/[A-Za-z0-9_-]+")


def sms_link(live, phone):
    """The invitation link the console SMS backend wrote for the phone (the worker sends it)."""
    def sent():
        with open(f"{live.instance}/sms.log", encoding="utf-8") as fh:
            found = [INVITE.search(line) for line in fh if f"+7{phone}" in line]
        return found[-1].group(0) if found and found[-1] else None
    return wait_for(sent, timeout=30, what=f"an invitation SMS to {phone}")


def test_an_owner_invites_an_accountant_who_joins_by_the_sms_link(context_factory, live):
    owner = context_factory().new_page()
    login(owner, live, SETTINGS_PHONE)
    owner.get_by_role("link", name="Настройки").click()
    owner.get_by_role("link", name="Сотрудники").click()
    owner.fill("#phone", "8 916 555-77-11")
    owner.fill("#name", "Иванова Анна")
    owner.select_option("#role", label="Бухгалтер")
    owner.get_by_role("button", name="Пригласить").click()
    expect(owner.locator(".flash-success")).to_have_text("Приглашение отправлено на +7 916 555-77-11")
    expect(owner.locator("tr", has_text="Иванова Анна")).to_contain_text("приглашен, ссылка действует до")

    accountant = context_factory().new_page()
    accountant.goto(sms_link(live, "9165557711"))
    expect(accountant.get_by_role("heading", name="Приглашение в кабинет")).to_be_visible()
    expect(accountant.locator("#name")).to_have_value("Иванова Анна")
    accountant.fill("#password", "accountant password")
    accountant.fill("#confirm", "accountant password")
    accountant.get_by_role("button", name="Задать пароль и войти").click()
    expect(accountant).to_have_url(live.url("/invoices/new"))
    expect(accountant.locator(".who")).to_have_text("Иванова Анна · Бухгалтер")
    nav = accountant.get_by_role("navigation", name="Разделы кабинета")
    nav.get_by_role("link", name="Настройки").click()
    expect(accountant).to_have_url(live.url("/settings/sessions"))
    expect(accountant.get_by_role("link", name="Сотрудники")).to_have_count(0)
    accountant.goto(live.url("/settings/team"))
    expect(accountant.get_by_role("heading", name="Недостаточно прав")).to_be_visible()
    expect(accountant.locator(".flash-error")).to_have_text("Сотрудников приглашает и удаляет только владелец.")

    owner.reload()
    expect(owner.locator("tr", has_text="Иванова Анна")).to_contain_text("работает")
