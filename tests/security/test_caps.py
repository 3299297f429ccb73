"""What a merchant or a stranger can make ckbiz send or write, capped: the merchant's own
«Отправить» and «Напомнить» per invoice per hour (automatic reminders aside), payment starts per
invoice per minute, captcha images per address (one captcha row per browser, not per image);
and a disabled merchant's invoices cannot be paid."""
import json

from ckbiz.extensions import db
from ckbiz.models import Captcha, Delivery, InvoiceEvent, Merchant, Payment
from conftest import csrf_token
from factories import make_invoice



def post(client, path, **data):
    """An action as the history row's htmx sends it."""
    number = path.split("/")[2]
    return client.post(path, data={"csrf_token": csrf_token(client, "/invoices"), **data},
                       headers={"HX-Request": "true", "HX-Target": f"invoice-{number}"})


def toast(response):
    return json.loads(response.headers["HX-Trigger"])["showMessage"]["message"]


def deliveries(app, kind):
    with app.app_context(), db.connection_context():
        return Delivery.select().where(Delivery.kind == kind).count()


def test_send_to_another_address_is_capped_per_invoice_per_hour(app, logged_in, merchant):
    invoice = make_invoice(app, merchant, email=None, phone="")
    for n in range(5):
        assert post(logged_in, f"/invoices/{invoice.number}/send", email=f"boss{n}@example.org").status_code == 200
    refused = post(logged_in, f"/invoices/{invoice.number}/send", email="boss@example.org")
    assert refused.status_code == 409
    assert "уже отправляли 5 раз за последний час" in toast(refused)
    assert deliveries(app, "sent_to") == 5
    other = make_invoice(app, merchant, email=None, phone="")
    assert post(logged_in, f"/invoices/{other.number}/send", email="boss@example.org").status_code == 200


def test_remind_is_capped_per_invoice_per_hour_and_automatic_ones_do_not_count(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    with app.app_context(), db.connection_context():
        for _ in range(5):
            InvoiceEvent.create(invoice=invoice.id, kind="auto_reminded")
    for _ in range(5):
        assert post(logged_in, f"/invoices/{invoice.number}/remind").status_code == 200
    refused = post(logged_in, f"/invoices/{invoice.number}/remind")
    assert refused.status_code == 409
    assert "уже напоминали 5 раз за последний час" in toast(refused)
    assert deliveries(app, "reminder") == 10  # e-mail and SMS, five times


def test_payment_starts_are_capped_per_invoice_per_minute(app, client, merchant):
    invoice = make_invoice(app, merchant)
    token = csrf_token(client, f"/i/{invoice.token}")
    for _ in range(5):
        assert client.post(f"/i/{invoice.token}/pay", data={"csrf_token": token}).status_code == 303
    refused = client.post(f"/i/{invoice.token}/pay", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "Слишком много попыток оплаты за минуту" in refused.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert Payment.select().count() == 5


def test_captchas_are_capped_per_address_and_one_browser_keeps_one_row(app, client):
    app.config["CAPTCHAS_PER_ADDRESS_PER_HOUR"] = 8
    for _ in range(8):
        assert client.get("/captcha.png").status_code == 200
    with app.app_context(), db.connection_context():
        assert Captcha.select().count() == 1
    refused = client.get("/captcha.png")
    assert refused.status_code == 429
    assert "Слишком много картинок с кодом" in refused.get_data(as_text=True)
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.5"
    assert stranger.get("/captcha.png").status_code == 200


def test_a_disabled_merchants_invoice_cannot_be_paid(app, client, merchant):
    invoice = make_invoice(app, merchant)
    token = csrf_token(client, f"/i/{invoice.token}")
    with app.app_context(), db.connection_context():
        Merchant.update(active=False).where(Merchant.id == merchant.id).execute()
    page = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert "не принимает оплату" in page and "Оплатить банковской картой" not in page
    refused = client.post(f"/i/{invoice.token}/pay", data={"csrf_token": token})
    assert refused.status_code == 409 and "не принимает оплату" in refused.get_data(as_text=True)
    assert client.get(f"/i/{invoice.token}/qr.png").status_code == 404
    with app.app_context(), db.connection_context():
        assert Payment.select().count() == 0
