"""A payer pays through each real provider in Chromium: ckbiz under gunicorn configured for T-Bank or
ЮKassa, the provider a fake on loopback (tests/providers.py) with its payment page on its API's
origin, so the browser's own CSP check of the form's redirect is part of the test. On SQLite, and on
PostgreSQL when the run targets it (scripts/test.sh runs this file in its PostgreSQL stage too)."""
import re

import pytest
from playwright.sync_api import expect

from live import database_of_its_own, environment, web
from providers import SHOP_ID, TBANK_PASSWORD, TERMINAL_KEY, YOOKASSA_SECRET, FakeTBank, FakeYooKassa

from .conftest import PASSWORD, Live, Mailbox, free_port, issue, login, run_flask, unique_email, unique_key

pytestmark = pytest.mark.e2e

PAID_WAIT = 20_000  # the notification trails the payer by two seconds; the page polls every three


def provider_settings(name, fake, base):
    if name == "tbank":
        return {"TBANK_API_URL": fake.api_url, "TBANK_TERMINAL_KEY": TERMINAL_KEY, "TBANK_PASSWORD": TBANK_PASSWORD}
    fake.notify_url = f"{base}/payments/yookassa/callback"  # what the shop registers in ЮKassa's cabinet
    return {"YOOKASSA_API_URL": fake.api_url, "YOOKASSA_SHOP_ID": SHOP_ID, "YOOKASSA_SECRET_KEY": YOOKASSA_SECRET,
            "YOOKASSA_NOTIFY_IPS": '["127.0.0.1/32"]'}


@pytest.fixture(scope="module", params=["tbank", "yookassa"])
def provider(request, smtp, tmp_path_factory):
    """(gateway name, its fake, a live ckbiz using it with the demo merchant)."""
    name = request.param
    fake = FakeTBank() if name == "tbank" else FakeYooKassa()
    instance = str(tmp_path_factory.mktemp(f"ckbiz-{name}"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        with database_of_its_own(f"e2e_{name}", instance) as database_url:
            env = environment(instance, database_url, "", BASE_URL=base, PAYMENT_GATEWAY=name,
                              PAYMENT_TIMEOUT=5, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port,
                              **provider_settings(name, fake, base))
            run_flask(env, "init-db")
            run_flask(env, "demo", "--password", PASSWORD, "--email", "shop@example.com")
            with web(env, port, f"{instance}/web.log"):
                yield name, fake, Live(base, env, instance, Mailbox(smtp))
    finally:
        fake.close()


def test_payer_declines_then_pays_and_the_page_turns_paid_by_itself(provider, context_factory, payer_phone_page):
    name, fake, live = provider
    merchant = context_factory().new_page()
    login(merchant, live)
    number = issue(merchant, live, unique_key(), email=unique_email("payer"), amount="1000")
    [(token,)] = live.sql("SELECT token FROM invoice ORDER BY id DESC LIMIT 1")  # the one just issued
    payer = payer_phone_page
    payer.goto(live.url(f"/i/{token}"))

    # First the payer changes their mind on the provider's page: back on the invoice, still payable.
    payer.get_by_role("button", name="Оплатить банковской картой").tap()
    expect(payer).to_have_url(re.compile(re.escape(fake.url) + r"/(new|checkout)/[\w-]+$"))
    expect(payer.locator(".amount")).to_contain_text("1015.00")
    payer.get_by_role("button", name="Отказаться", exact=True).tap()
    expect(payer).to_have_url(live.url(f"/i/{token}"))
    expect(payer.get_by_role("button", name="Оплатить банковской картой")).to_be_visible()
    expect(payer.get_by_text("Платеж обрабатывается")).to_have_count(0)

    # Then pays; the provider's notification comes a little after the payer is back.
    fake.notification_delay = 2
    payer.get_by_role("button", name="Оплатить банковской картой").tap()
    expect(payer.get_by_role("button", name="Оплатить", exact=True)).to_be_visible()
    assert len(fake.payments) == 2, "the second click is a payment of its own"
    payer.get_by_role("button", name="Оплатить", exact=True).tap()
    expect(payer).to_have_url(live.url(f"/i/{token}"))
    expect(payer.get_by_text("Платеж обрабатывается")).to_be_visible()
    expect(payer.get_by_role("button", name="Оплатить банковской картой")).to_be_visible()
    expect(payer.locator(".flash-success")).to_have_text("Счет оплачен. Спасибо!", timeout=PAID_WAIT)
    expect(payer.get_by_role("button", name="Оплатить банковской картой")).to_have_count(0)
    fake.notification_delay = 0

    answers = [answer for _, _, answer in fake.notifications]
    assert [status for status, _ in answers] == [200, 200]
    if name == "tbank":
        assert [body for _, body in answers] == ["OK", "OK"]
    merchant.goto(live.url(f"/invoices?q={number}"))
    expect(merchant.locator(f"#invoice-{number} .status")).to_contain_text("оплачен")
