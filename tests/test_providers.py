"""Real payment providers (DESIGN "Real payment providers"): T-Bank and ЮKassa against fake servers
on loopback that speak their documented protocols (tests/providers.py)."""
from datetime import timedelta

import pytest
import requests

from ckbiz.database import utcnow
from ckbiz.extensions import db
from ckbiz.gateways.tbank import token
from ckbiz.models import Invoice, InvoiceEvent, Payment
from conftest import csrf_token
from factories import make_invoice
from providers import TBANK_PASSWORD

PAY_BUTTON = "Оплатить банковской картой"
PROCESSING = "Платеж обрабатывается"
PROVIDER_DOWN = "Банк сейчас не отвечает, деньги не списаны"


def click_pay(client, invoice):
    """«Оплатить банковской картой» on the payer page, as the browser submits it."""
    return client.post(f"/i/{invoice.token}/pay", data={"csrf_token": csrf_token(client, f"/i/{invoice.token}")})


def payments(app, invoice):
    with app.app_context(), db.connection_context():
        return list(Payment.select().where(Payment.invoice == invoice.id).order_by(Payment.id))


def fresh(app, invoice):
    with app.app_context(), db.connection_context():
        return Invoice.get_by_id(invoice.id)


def paid_events(app, invoice):
    with app.app_context(), db.connection_context():
        return InvoiceEvent.select().where(InvoiceEvent.invoice == invoice.id, InvoiceEvent.kind == "paid").count()


def at_provider_page(fake, location, choice):
    """The payer presses «Оплатить» or «Отказаться» on the provider's page; where it sends them."""
    assert location.startswith(fake.url + "/")
    assert choice in requests.get(location, timeout=5).text
    answer = requests.post(f"{location}/{'pay' if choice == 'Оплатить' else 'decline'}", allow_redirects=False,
                           timeout=5)
    assert answer.status_code == 303
    return answer.headers["Location"]


def tbank_notify(client, body):
    return client.post("/payments/tbank/callback", json=body)


# --- T-Bank -------------------------------------------------------------------------------------

@pytest.mark.parametrize("order_id,password,expected", [
    # https://developer.tbank.ru/eacq/intro/developer/token, today's worked example …
    ("00000", "11111111111111", "72dd466f8ace0a37a1f740ce5fb78101712bc0665d91a8108c7c8a0ccd426db2"),
    # … and the one the same page gave before (OrderId 21090, password usaf8fw8fsw21g).
    ("21090", "usaf8fw8fsw21g", "0024a00af7c350a3a67ca168ce06502aa72772456662e38696d48b56ee9c97d9"),
])
def test_tbank_token_matches_the_documented_example(order_id, password, expected):
    request = {"TerminalKey": "MerchantTerminalKey", "Amount": 19200, "OrderId": order_id,
               "Description": "Подарочная карта на 1000 рублей",
               "DATA": {"Phone": "+71234567890"}, "Receipt": {"Items": [{"Name": "x", "Amount": 19200}]}}
    assert token(request, password) == expected
    assert token({**request, "Token": "anything"}, password) == expected


def test_tbank_payment_from_click_to_paid(app, client, merchant, tbank):
    invoice = make_invoice(app, merchant, amount_kop=10000)
    response = click_pay(client, invoice)
    assert response.status_code == 303
    [payment] = payments(app, invoice)
    [init] = tbank.api_requests("/v2/Init")
    assert init["json"]["OrderId"] == payment.provider_payment_id
    assert init["json"]["Amount"] == 10150 == payment.amount_kop
    assert init["json"]["NotificationURL"] == "http://ckbiz.test/payments/tbank/callback"
    assert init["json"]["SuccessURL"] == init["json"]["FailURL"] == f"http://ckbiz.test/i/{invoice.token}"
    assert TBANK_PASSWORD not in str(init["json"])

    back = at_provider_page(tbank, response.headers["Location"], "Оплатить")
    assert back == f"http://ckbiz.test/i/{invoice.token}"
    page = client.get(f"/i/{invoice.token}")
    html = page.get_data(as_text=True)
    assert PROCESSING in html and PAY_BUTTON in html
    assert f"form-action 'self' https://securepay.tinkoff.ru {tbank.url}" in page.headers["Content-Security-Policy"]

    answer = tbank_notify(client, tbank.notification(payment.provider_ref))
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "OK")
    assert fresh(app, invoice).status == "paid"
    html = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert "Счет оплачен" in html and PROCESSING not in html and PAY_BUTTON not in html

    # T-Bank resends until it reads OK; a copy, or a late AUTHORIZED, changes nothing.
    assert tbank_notify(client, tbank.notification(payment.provider_ref)).get_data(as_text=True) == "OK"
    assert tbank_notify(client, tbank.notification(payment.provider_ref, "AUTHORIZED")).status_code == 200
    assert tbank_notify(client, tbank.notification(payment.provider_ref, "REJECTED")).status_code == 200
    assert (fresh(app, invoice).status, paid_events(app, invoice)) == ("paid", 1)
    assert payments(app, invoice)[0].status == "succeeded"


@pytest.mark.parametrize("forge", ["password", "amount", "terminal", "no token"])
def test_tbank_notification_with_a_wrong_token_is_refused_and_changes_nothing(app, client, merchant, tbank, forge):
    invoice = make_invoice(app, merchant)
    at_provider_page(tbank, click_pay(client, invoice).headers["Location"], "Оплатить")
    ref = payments(app, invoice)[0].provider_ref
    body = {"password": lambda: tbank.notification(ref, password="guessed"),
            "amount": lambda: {**tbank.notification(ref), "Amount": 1},
            "terminal": lambda: tbank.notification(ref, TerminalKey="OtherTerminal"),
            "no token": lambda: {k: v for k, v in tbank.notification(ref).items() if k != "Token"}}[forge]()
    answer = tbank_notify(client, body)
    assert answer.status_code == 400 and answer.get_data(as_text=True) != "OK"
    assert fresh(app, invoice).status == "issued" and payments(app, invoice)[0].status == "pending"


def test_tbank_declined_payment_leaves_the_invoice_payable_and_a_new_click_is_a_new_payment(
        app, client, merchant, tbank):
    invoice = make_invoice(app, merchant)
    first = click_pay(client, invoice).headers["Location"]
    at_provider_page(tbank, first, "Отказаться")
    ref = payments(app, invoice)[0].provider_ref
    assert tbank_notify(client, tbank.notification(ref)).get_data(as_text=True) == "OK"
    html = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert fresh(app, invoice).status == "issued" and PAY_BUTTON in html and PROCESSING not in html

    second = click_pay(client, invoice).headers["Location"]
    assert second != first
    old, new = payments(app, invoice)
    assert (old.status, new.status) == ("failed", "pending")
    assert old.provider_payment_id != new.provider_payment_id
    assert [r["json"]["OrderId"] for r in tbank.api_requests("/v2/Init")] == [
        old.provider_payment_id, new.provider_payment_id]


def test_tbank_payment_confirmed_after_cancellation_is_flagged_for_a_refund(app, client, merchant, tbank):
    invoice = make_invoice(app, merchant)
    at_provider_page(tbank, click_pay(client, invoice).headers["Location"], "Оплатить")
    with app.app_context(), db.connection_context():
        Invoice.update(status="cancelled").where(Invoice.id == invoice.id).execute()
    assert tbank_notify(client, tbank.notification(payments(app, invoice)[0].provider_ref)).status_code == 200
    [payment] = payments(app, invoice)
    assert fresh(app, invoice).status == "cancelled"
    assert payment.status == "succeeded" and payment.attention == "refund: счет в статусе «отменен»"


@pytest.mark.parametrize("failure", ["500", "timeout"])
def test_tbank_down_at_create_shows_a_message_and_the_retry_reuses_the_order_id(
        app, client, merchant, tbank, failure):
    invoice = make_invoice(app, merchant)
    tbank.fail_next(500) if failure == "500" else tbank.hang_next()
    response = click_pay(client, invoice)
    html = response.get_data(as_text=True)
    assert response.status_code == 502 and PROVIDER_DOWN in html and PAY_BUTTON in html
    assert PROCESSING not in html and fresh(app, invoice).status == "issued"

    assert click_pay(client, invoice).status_code == 303
    [payment] = payments(app, invoice)
    assert [r["json"]["OrderId"] for r in tbank.api_requests("/v2/Init")] == [payment.provider_payment_id] * 2
    assert payment.provider_ref


def test_a_payment_another_payer_is_still_starting_is_not_reused(app, client, merchant, tbank):
    """Two people pay one forwarded link at the same moment: the first click's payment exists and
    waits for T-Bank's answer in its own request when the second click comes; that one gets an
    order of its own (the same OrderId twice at once would be refused, or sent to one payer)."""
    invoice = make_invoice(app, merchant)
    with app.app_context(), db.connection_context():
        starting = Payment.create(invoice=invoice.id, gateway="tbank", method="card", provider_payment_id="ckbiz_first",
                                  amount_kop=invoice.amount_kop + invoice.commission_kop)
    assert click_pay(client, invoice).status_code == 303
    first, second = payments(app, invoice)
    assert first.id == starting.id and first.provider_ref == ""
    assert second.provider_payment_id != "ckbiz_first" and second.provider_ref
    assert [r["json"]["OrderId"] for r in tbank.api_requests("/v2/Init")] == [second.provider_payment_id]


def test_tbank_refusing_to_start_is_a_failed_attempt_and_the_next_click_starts_afresh(app, client, merchant, tbank):
    invoice = make_invoice(app, merchant)
    app.config["TBANK_PASSWORD"] = "not the terminal's password"  # T-Bank answers ErrorCode 204
    assert click_pay(client, invoice).status_code == 502
    app.config["TBANK_PASSWORD"] = TBANK_PASSWORD
    assert click_pay(client, invoice).status_code == 303
    assert [p.status for p in payments(app, invoice)] == ["failed", "pending"]


# --- ЮKassa -------------------------------------------------------------------------------------

def yookassa_notify(client, body, sender="127.0.0.1"):
    return client.post("/payments/yookassa/callback", json=body, environ_base={"REMOTE_ADDR": sender})


def test_yookassa_payment_from_click_to_paid(app, client, merchant, yookassa):
    invoice = make_invoice(app, merchant, amount_kop=10000)
    response = click_pay(client, invoice)
    assert response.status_code == 303
    [payment] = payments(app, invoice)
    [create] = yookassa.api_requests("/v3/payments")
    assert create["key"] == payment.provider_payment_id
    assert create["json"]["amount"] == {"value": "101.50", "currency": "RUB"}
    assert create["json"]["capture"] is True
    assert create["json"]["confirmation"] == {"type": "redirect", "return_url": f"http://ckbiz.test/i/{invoice.token}"}
    assert create["json"]["metadata"]["payment_id"] == payment.provider_payment_id
    assert response.headers["Location"] == f"{yookassa.url}/checkout/{payment.provider_ref}"

    assert at_provider_page(yookassa, response.headers["Location"], "Оплатить") == f"http://ckbiz.test/i/{invoice.token}"
    page = client.get(f"/i/{invoice.token}")
    assert PROCESSING in page.get_data(as_text=True)
    assert f"form-action 'self' https://yoomoney.ru {yookassa.url}" in page.headers["Content-Security-Policy"]

    answer = yookassa_notify(client, yookassa.notification(payment.provider_ref))
    assert answer.status_code == 200 and fresh(app, invoice).status == "paid"
    assert yookassa_notify(client, yookassa.notification(payment.provider_ref)).status_code == 200
    assert paid_events(app, invoice) == 1
    # Each notification was checked by asking ЮKassa about the payment.
    assert len(yookassa.api_requests(f"/v3/payments/{payment.provider_ref}")) == 2


def test_yookassa_notification_from_another_address_is_refused_unread(app, client, merchant, yookassa):
    invoice = make_invoice(app, merchant)
    at_provider_page(yookassa, click_pay(client, invoice).headers["Location"], "Оплатить")
    ref = payments(app, invoice)[0].provider_ref
    answer = yookassa_notify(client, yookassa.notification(ref), sender="203.0.113.7")
    assert answer.status_code == 400
    assert not yookassa.api_requests(f"/v3/payments/{ref}")
    assert fresh(app, invoice).status == "issued"


def test_yookassa_notification_is_believed_only_as_far_as_the_payment_id(app, client, merchant, yookassa):
    invoice = make_invoice(app, merchant)
    click_pay(client, invoice)
    ref = payments(app, invoice)[0].provider_ref
    # The body says succeeded and a different amount; ЮKassa, asked, says pending: nothing changes.
    forged = yookassa.notification(ref, status="succeeded", paid=True, amount={"value": "1.00", "currency": "RUB"})
    assert yookassa_notify(client, forged).get_json() == {"outcome": "pending"}
    assert fresh(app, invoice).status == "issued" and payments(app, invoice)[0].status == "pending"
    # An id ЮKassa does not know, or one of a payment that is not ours, is refused.
    assert yookassa_notify(client, yookassa.notification(ref, id="2419a771-000f-5000-9000-1edaf29243f2")).status_code == 400
    # Events about anything but a payment are acknowledged and ignored.
    refund = {"type": "notification", "event": "refund.succeeded", "object": {"id": "216749f7-0016-50be-b000-078d43a63ae4"}}
    assert yookassa_notify(client, refund).get_json() == {"outcome": "ignored"}


def test_yookassa_declined_then_paid_on_a_second_click(app, client, merchant, yookassa):
    invoice = make_invoice(app, merchant)
    at_provider_page(yookassa, click_pay(client, invoice).headers["Location"], "Отказаться")
    first = payments(app, invoice)[0]
    assert yookassa_notify(client, yookassa.notification(first.provider_ref)).get_json() == {"outcome": "failed"}
    assert fresh(app, invoice).status == "issued"
    second_location = click_pay(client, invoice).headers["Location"]
    at_provider_page(yookassa, second_location, "Оплатить")
    second = payments(app, invoice)[1]
    assert second.provider_payment_id != first.provider_payment_id
    assert yookassa_notify(client, yookassa.notification(second.provider_ref)).get_json() == {"outcome": "paid"}
    assert [r["key"] for r in yookassa.api_requests("/v3/payments")] == [
        first.provider_payment_id, second.provider_payment_id]


@pytest.mark.parametrize("failure", ["500", "timeout"])
def test_yookassa_down_at_create_then_the_same_idempotence_key_gets_the_same_payment(
        app, client, merchant, yookassa, failure):
    invoice = make_invoice(app, merchant)
    yookassa.fail_next(500) if failure == "500" else yookassa.hang_next()
    response = click_pay(client, invoice)
    assert response.status_code == 502 and PROVIDER_DOWN in response.get_data(as_text=True)
    assert fresh(app, invoice).status == "issued"
    retry = click_pay(client, invoice)
    assert retry.status_code == 303
    [payment] = payments(app, invoice)
    keys = [r["key"] for r in yookassa.api_requests("/v3/payments")]
    assert keys == [payment.provider_payment_id] * 2 and len(yookassa.payments) == 1


def test_yookassa_without_credentials_refuses_to_start_and_says_so(app, client, merchant, yookassa):
    app.config["YOOKASSA_SECRET_KEY"] = ""
    invoice = make_invoice(app, merchant)
    response = click_pay(client, invoice)
    assert response.status_code == 502 and PROVIDER_DOWN in response.get_data(as_text=True)
    assert not yookassa.requests


# --- Reconcile ----------------------------------------------------------------------------------

def reconcile(runner, when):
    result = runner.invoke(args=["jobs", "run", "reconcile", "--now", when.strftime("%Y-%m-%dT%H:%M:%S")])
    assert result.exit_code == 0, result.output
    return result.output


def test_lost_notifications_are_healed_by_reconcile_at_each_payments_own_provider(
        app, client, runner, merchant, tbank, yookassa):
    by_tbank, by_yookassa = make_invoice(app, merchant), make_invoice(app, merchant)
    app.config["PAYMENT_GATEWAY"] = "tbank"
    at_provider_page(tbank, click_pay(client, by_tbank).headers["Location"], "Оплатить")
    app.config["PAYMENT_GATEWAY"] = "yookassa"
    at_provider_page(yookassa, click_pay(client, by_yookassa).headers["Location"], "Оплатить")
    started = utcnow()

    assert reconcile(runner, started + timedelta(minutes=4)).strip() == "reconcile: 0"  # too early to ask
    assert not tbank.api_requests("/v2/GetState")
    tbank.fail_next(500)  # T-Bank is down this minute
    assert reconcile(runner, started + timedelta(minutes=6)).strip() == "reconcile: 1"
    assert (fresh(app, by_tbank).status, fresh(app, by_yookassa).status) == ("issued", "paid")
    assert reconcile(runner, started + timedelta(minutes=7)).strip() == "reconcile: 1"
    assert fresh(app, by_tbank).status == "paid"
    assert [p.status for p in payments(app, by_tbank) + payments(app, by_yookassa)] == ["succeeded"] * 2
    # The notification that arrives after all changes nothing.
    assert tbank_notify(client, tbank.notification(payments(app, by_tbank)[0].provider_ref)).status_code == 200
    assert paid_events(app, by_tbank) == 1
    assert reconcile(runner, started + timedelta(minutes=8)).strip() == "reconcile: 0"


def test_reconcile_leaves_pending_and_old_payments_alone(app, client, runner, merchant, tbank):
    abandoned, ancient = make_invoice(app, merchant), make_invoice(app, merchant)
    click_pay(client, abandoned)  # the payer never finished: still NEW at T-Bank
    click_pay(client, ancient)
    started = utcnow()
    assert reconcile(runner, started + timedelta(minutes=10)).strip() == "reconcile: 0"
    assert len(tbank.api_requests("/v2/GetState")) == 2
    assert reconcile(runner, started + timedelta(days=2, minutes=1)).strip() == "reconcile: 0"
    assert len(tbank.api_requests("/v2/GetState")) == 2
    assert [p.status for p in payments(app, abandoned) + payments(app, ancient)] == ["pending"] * 2


# --- The payer page while a payment is processed -------------------------------------------------

def test_processing_fragment_polls_until_the_payment_is_answered(app, client, merchant, tbank):
    invoice = make_invoice(app, merchant)
    at_provider_page(tbank, click_pay(client, invoice).headers["Location"], "Оплатить")
    html = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert 'hx-trigger="every 3s"' in html and '<noscript><meta http-equiv="refresh"' in html
    poll = {"HX-Request": "true", "HX-Target": "payment-status"}
    fragment = client.get(f"/i/{invoice.token}", headers=poll)
    assert PROCESSING in fragment.get_data(as_text=True) and "HX-Refresh" not in fragment.headers
    assert "<html" not in fragment.get_data(as_text=True)
    tbank_notify(client, tbank.notification(payments(app, invoice)[0].provider_ref))
    done = client.get(f"/i/{invoice.token}", headers=poll)
    assert done.headers["HX-Refresh"] == "true" and done.get_data(as_text=True) == ""
    html = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert "every 3s" not in html and "<script" not in html


def test_only_the_payer_page_may_lead_to_the_provider(app, client, merchant, tbank, auth):
    invoice = make_invoice(app, merchant)
    assert tbank.url in client.get(f"/i/{invoice.token}").headers["Content-Security-Policy"]
    auth.login()
    assert tbank.url not in client.get("/invoices/new").headers["Content-Security-Policy"]
    app.config["PAYMENT_FORM_ORIGINS"] = ["https://pay.example.net/some/path"]
    policy = client.get(f"/i/{invoice.token}").headers["Content-Security-Policy"]
    assert policy.endswith(f"form-action 'self' https://pay.example.net {tbank.url}")


# --- СБП ----------------------------------------------------------------------------------------

def test_sbp_button_with_yookassa_starts_an_sbp_payment(app, client, merchant, yookassa):
    invoice = make_invoice(app, merchant)
    assert "Оплатить через СБП" not in client.get(f"/i/{invoice.token}").get_data(as_text=True)
    sbp = {"csrf_token": csrf_token(client, f"/i/{invoice.token}"), "method": "sbp"}
    assert client.post(f"/i/{invoice.token}/pay", data=sbp).status_code == 400  # SBP is off
    assert not yookassa.requests

    app.config["SBP"] = True
    html = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert "Оплатить через СБП" in html and PAY_BUTTON in html and "Оплата переводом по QR-коду" in html
    assert client.post(f"/i/{invoice.token}/pay", data=sbp).status_code == 303
    assert click_pay(client, invoice).status_code == 303
    sbp_create, card_create = yookassa.api_requests("/v3/payments")
    assert sbp_create["json"]["payment_method_data"] == {"type": "sbp"}
    assert "payment_method_data" not in card_create["json"]
    assert [p.method for p in payments(app, invoice)] == ["sbp", "card"]


def test_sbp_is_offered_only_where_the_provider_offers_it(app, client, merchant, tbank):
    app.config["SBP"] = True
    invoice = make_invoice(app, merchant)
    assert "Оплатить через СБП" not in client.get(f"/i/{invoice.token}").get_data(as_text=True)
    sbp = {"csrf_token": csrf_token(client, f"/i/{invoice.token}"), "method": "sbp"}
    assert client.post(f"/i/{invoice.token}/pay", data=sbp).status_code == 400
    assert not tbank.requests and not payments(app, invoice)


def test_provider_errors_never_log_the_shops_secrets(app, client, merchant, tbank, yookassa, caplog):
    invoice = make_invoice(app, merchant)
    app.config.update(PAYMENT_GATEWAY="tbank", TBANK_PASSWORD=TBANK_PASSWORD + "-changed")
    assert click_pay(client, invoice).status_code == 502  # T-Bank refuses the Token
    app.config.update(PAYMENT_GATEWAY="yookassa", YOOKASSA_SECRET_KEY="live_not-the-key")
    assert click_pay(client, invoice).status_code == 502  # ЮKassa answers 401
    assert "ErrorCode 204" in caplog.text and "HTTP 401" in caplog.text
    for secret in (TBANK_PASSWORD, "live_not-the-key"):
        assert secret not in caplog.text
