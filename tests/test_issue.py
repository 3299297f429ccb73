"""Issuing invoices (§4): the form, its fragments, preview, issue, and the deliveries."""
import re
from datetime import timedelta

import pytest
from playhouse.test_utils import count_queries

from ckbiz.domain import reminders
from ckbiz.extensions import db, huey
from ckbiz.models import Delivery, Invoice, InvoiceEvent, Merchant, Service, Webhook
from conftest import csrf_token


def services(app, merchant):
    with app.app_context(), db.connection_context():
        return list(Service.of(merchant))


def valid_form(client, service_id, **overrides):
    """A valid «Выставить счет» form, with the CSRF token of the issue page unless one is given."""
    data = {"service": str(service_id),
            "payer_phone": "+7 902 637-65-77", "payer_email": "payer@example.com",
            "req-account": "34234234", "req-fio": "Иванов Иван", "req-address": "", "req-month": "04.2016",
            "comment": "За апрель", "validity_hours": "24", "amount": "100,00"}
    data.update(overrides)
    if "csrf_token" not in data:
        data["csrf_token"] = csrf_token(client, "/invoices/new")
    return data


def rows_written(app):
    """How many invoices, invoice events and outbox rows there are."""
    with app.app_context(), db.connection_context():
        return Invoice.select().count(), InvoiceEvent.select().count(), Delivery.select().count()


def test_form_shows_the_manuals_sections_and_the_demo_service(logged_in):
    html = logged_in.get("/invoices/new").get_data(as_text=True)
    for label in ("Выставить счет", "Демо ПА / Демо-организация / демо-услуга / Прочие", "Плательщик",
                  "Эл. адрес", "Реквизиты платежа", "ЛИЦ. СЧЕТ", "ФИО", "Дополнительные параметры",
                  "АДРЕС", "МЕСЯЦ ММ.ГГГГ", "Настройки счета", "Комментарий к платежу",
                  "Срок действия счета", "Часов", "Сумма к оплате, руб.", "Просмотр", "Выставить"):
        assert label in html, label
    assert 'name="validity_hours" required type="number" value="72"' in html or 'value="72"' in html


def test_changing_the_service_swaps_the_fields(app, logged_in, merchant):
    second = services(app, merchant)[1]
    html = logged_in.get(f"/invoices/new/fields?service={second.id}&payer_phone=9026376577",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "НОМЕР ЗАКАЗА" in html and "ЛИЦ. СЧЕТ" not in html
    assert 'value="9026376577"' in html
    assert "<html" not in html


def test_the_fields_of_another_merchants_service_are_not_found(app, logged_in):
    from ckbiz import demo
    with app.app_context(), db.connection_context():
        other, _ = demo.ensure_merchant("9037778899", "other password")
        foreign = Service.of(other).first()
    assert logged_in.get(f"/invoices/new/fields?service={foreign.id}").status_code == 404
    assert logged_in.get(f"/invoices/new/commission?service={foreign.id}&amount=1").status_code == 404


def test_commission_follows_the_amount(app, logged_in, merchant):
    demo_service = services(app, merchant)[0]
    html = logged_in.get(f"/invoices/new/commission?service={demo_service.id}&amount=100").get_data(as_text=True)
    assert "1,50\u00a0₽" in html and "101,50\u00a0₽" in html
    assert logged_in.get(f"/invoices/new/commission?service={demo_service.id}&amount=abc").get_data(
        as_text=True).strip() == ""


def test_preview_shows_the_invoice_and_creates_nothing(app, logged_in, merchant):
    service = services(app, merchant)[0]
    response = logged_in.post("/invoices/preview", data=valid_form(logged_in, service.id),
                              headers={"HX-Request": "true", "HX-Target": "dialog-slot"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<dialog" in html and "Вам выставлен счет" in html
    for text in ("Демо-организация", "7701000001/770101001", "40702810200000012345", "044525225",
                 "демо-услуга", "ЛИЦ. СЧЕТ", "34234234", "100,00\u00a0₽", "1,50\u00a0₽", "За апрель"):
        assert text in html, text
    with app.app_context(), db.connection_context():
        assert Invoice.select().count() == 0 and Delivery.select().count() == 0


def test_preview_without_javascript_is_a_page(app, logged_in, merchant):
    service = services(app, merchant)[0]
    html = logged_in.post("/invoices/preview", data=valid_form(logged_in, service.id)).get_data(as_text=True)
    assert "<html" in html and "Просмотр счета" in html and 'name="req-account" value="34234234"' in html


def test_issue_creates_the_invoice_event_and_deliveries(app, logged_in, merchant):
    service = services(app, merchant)[0]
    response = logged_in.post("/invoices", data=valid_form(logged_in, service.id))
    assert response.status_code == 303
    number = int(response.headers["Location"].rsplit("/", 1)[1])
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Счет № {number} выставлен" in page
    assert "Выставить следующий счет" in page
    with app.app_context(), db.connection_context():
        invoice = Invoice.get(Invoice.number == number)
        assert invoice.amount_kop == 10000 and invoice.commission_kop == 150
        assert invoice.payer_phone == "9026376577" and invoice.payer_email == "payer@example.com"
        assert invoice.key_label == "ЛИЦ. СЧЕТ" and invoice.key_value == "34234234"
        assert invoice.status == "issued" and len(invoice.token) >= 32
        assert (invoice.expires_at - invoice.issued_at).total_seconds() == 24 * 3600
        assert invoice.issued_with["payee"]["inn"] == "7701000001"
        kinds = [e.kind for e in invoice.events.order_by(InvoiceEvent.id)]
        assert kinds[0] == "issued"
        rows = {(d.channel, d.recipient): d.state for d in invoice.deliveries}
        assert rows == {("email", "payer@example.com"): "sent", ("sms", "9026376577"): "sent"}
        assert {"email_sent", "sms_sent"} <= set(kinds)


def test_issue_via_htmx_redirects_with_a_header(app, logged_in, merchant):
    service = services(app, merchant)[0]
    response = logged_in.post("/invoices", data=valid_form(logged_in, service.id),
                              headers={"HX-Request": "true", "HX-Target": "issue-form"})
    assert response.status_code == 204
    assert re.match(r"^/invoices/\d+$", response.headers["HX-Redirect"])


def test_the_sms_has_the_number_amount_and_link(app, logged_in, merchant):
    service = services(app, merchant)[0]
    logged_in.post("/invoices", data=valid_form(logged_in, service.id, payer_email=""))
    with app.app_context(), db.connection_context():
        invoice = Invoice.get()
    log = open(app.instance_path + "/sms.log", encoding="utf-8").read()
    assert "+79026376577" in log and f"№{invoice.number}" in log and "100,00\u00a0₽" in log
    assert f"http://ckbiz.test/i/{invoice.token}" in log


BAD_INPUTS = [
    ({"payer_phone": "", "payer_email": ""}, "payer_phone", "Укажите телефон или эл. адрес"),
    ({"payer_phone": "12345"}, "payer_phone", "9XXXXXXXXX"),
    ({"payer_email": "not-an-address"}, "payer_email", "Адрес эл. почты указан неверно"),
    ({"req-account": ""}, "req-account", "Заполните поле «ЛИЦ. СЧЕТ»"),
    ({"req-account": "12a"}, "req-account", "Только цифры"),
    ({"req-month": "2016-04"}, "req-month", "ММ.ГГГГ"),
    ({"req-month": "13.2016"}, "req-month", "ММ.ГГГГ"),
    ({"validity_hours": "0"}, "validity_hours", "От 1 до 2160 часов"),
    ({"validity_hours": "2161"}, "validity_hours", "От 1 до 2160 часов"),
    ({"validity_hours": "abc"}, "validity_hours", "Неверное целое число"),
    ({"amount": "0"}, "amount", "больше нуля"),
    ({"amount": "-5"}, "amount", "не больше двух знаков"),
    ({"amount": "abc"}, "amount", "не больше двух знаков"),
    ({"amount": "1.001"}, "amount", "не больше двух знаков"),
    ({"amount": "1e3"}, "amount", "не больше двух знаков"),
    ({"amount": "NaN"}, "amount", "не больше двух знаков"),
    ({"amount": "1000000.01"}, "amount", "не может быть больше"),
    ({"comment": "x" * 10000}, "comment", "Не больше 1000 символов"),
    ({"service": "999999"}, "service", "Выберите значение из списка"),
    ({"service": "abc"}, "service", "Выберите значение из списка"),
]


@pytest.mark.parametrize("overrides,field,message", BAD_INPUTS)
def test_bad_input_is_refused_beside_the_field_and_creates_nothing(app, logged_in, merchant,
                                                                   overrides, field, message):
    service = services(app, merchant)[0]
    data = valid_form(logged_in, service.id, **overrides)
    for headers in ({}, {"HX-Request": "true", "HX-Target": "issue-form"}):
        response = logged_in.post("/invoices", data=data, headers=headers)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert message in html
        block = html.split(f'name="{field}"')[0].rsplit('class="field', 1)[1]
        assert "has-error" in block
    with app.app_context(), db.connection_context():
        assert Invoice.select().count() == 0 and Delivery.select().count() == 0


def test_another_merchants_service_cannot_be_used(app, logged_in):
    from ckbiz import demo
    with app.app_context(), db.connection_context():
        other, _ = demo.ensure_merchant("9037778899", "other password")
        foreign = Service.of(other).first()
    response = logged_in.post("/invoices", data=valid_form(logged_in, foreign.id))
    assert response.status_code == 422
    with app.app_context(), db.connection_context():
        assert Invoice.select().count() == 0


def test_both_decimal_separators_mean_the_same(app, logged_in, merchant):
    service = services(app, merchant)[0]
    for amount in ("100,50", "100.50"):
        assert logged_in.post("/invoices", data=valid_form(logged_in, service.id, amount=amount)).status_code == 303
    with app.app_context(), db.connection_context():
        assert [i.amount_kop for i in Invoice.select()] == [10050, 10050]


def test_the_invoice_page_is_the_merchants_own(app, client, auth, merchant):
    auth.login()
    service = services(app, merchant)[0]
    location = client.post("/invoices", data=valid_form(client, service.id)).headers["Location"]
    auth.logout()
    from ckbiz import demo
    with app.app_context(), db.connection_context():
        demo.ensure_merchant("9037778899", "other password")
    auth.login(phone="9037778899", password="other password")
    assert client.get(location).status_code == 404


def test_pages_need_login(client):
    response = client.get("/invoices/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_an_anonymous_issue_is_sent_to_login_and_creates_nothing(app, client, merchant):
    """A whole valid form from someone not logged in: with the CSRF token a browser has (from
    /login) the login check answers; without a token the CSRF check refuses it first."""
    form = valid_form(client, services(app, merchant)[0].id, csrf_token=csrf_token(client, "/login"))
    response = client.post("/invoices", data=form)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert rows_written(app) == (0, 0, 0)
    del form["csrf_token"]
    response = client.post("/invoices", data=form)
    assert response.status_code == 400 and "Форма устарела" in response.get_data(as_text=True)
    assert rows_written(app) == (0, 0, 0)


def test_the_deliveries_table_polls_only_while_something_is_on_its_way(app, logged_in, merchant):
    service = services(app, merchant)[0]
    location = logged_in.post("/invoices", data=valid_form(logged_in, service.id)).headers["Location"]
    table = logged_in.get(location + "/deliveries", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "отправлено" in table and "hx-trigger" not in table
    with app.app_context(), db.connection_context():
        Delivery.update(state="pending").execute()
    table = logged_in.get(location + "/deliveries", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "ожидает отправки" in table and 'hx-trigger="every 2s"' in table


def test_daily_sms_cap_stops_sms_but_not_the_invoice(app, logged_in, merchant):
    app.config["SMS_DAILY_LIMIT"] = 2
    service = services(app, merchant)[0]
    for n in range(3):
        response = logged_in.post("/invoices", data=valid_form(logged_in, service.id, **{"req-account": str(n)}))
        assert response.status_code == 303
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "исчерпан лимит СМС" in page and "дневной лимит" in page
    with app.app_context(), db.connection_context():
        assert Invoice.select().count() == 3
        assert Delivery.select().where(Delivery.channel == "sms").count() == 2
        assert Delivery.select().where(Delivery.channel == "email").count() == 3


def test_one_issue_writes_every_message_and_reminder_the_merchant_asked_for(app, logged_in, merchant):
    """With a copy to its own address, a webhook and a reminder step, all of them come with the invoice."""
    with app.app_context(), db.connection_context():
        Merchant.update(copy_invoices=True, copy_email="me@shop.example").where(Merchant.id == merchant.id).execute()
        Webhook.create(merchant=merchant, url="https://hooks.example/ckbiz")
        reminders.add_step(merchant, "after_issue", 12, "email")
    service = services(app, merchant)[0]
    response = logged_in.post("/invoices", data=valid_form(logged_in, service.id))
    assert response.status_code == 303
    with app.app_context(), db.connection_context():
        invoice = Invoice.get()
        messages = [(d.channel, d.kind, d.recipient) for d in invoice.deliveries.order_by(Delivery.id)]
        assert messages == [("email", "invoice", "payer@example.com"), ("sms", "invoice", "9026376577"),
                            ("email", "copy", "me@shop.example"),
                            ("webhook", "invoice.issued", "https://hooks.example/ckbiz")]
        assert [(r.channel, r.due_at) for r in invoice.auto_reminders] == [
            ("email", invoice.issued_at + timedelta(hours=12))]


def test_issuing_asks_nothing_about_webhooks_or_reminders_a_merchant_lacks(app, logged_in, merchant, monkeypatch):
    """The statements of one issue: the session, the services, the number (with whether there is a
    webhook or a reminder step), the invoice, its event, the SMS cap and the deliveries."""
    form = valid_form(logged_in, services(app, merchant)[0].id)
    monkeypatch.setattr(huey, "immediate", False)  # queued, not sent inside the request
    huey.flush()
    with app.app_context():
        with count_queries() as issue:
            assert logged_in.post("/invoices", data=form).status_code == 303
    assert issue.count == 7
    assert huey.pending_count() == 1  # the e-mail and the SMS: one task
