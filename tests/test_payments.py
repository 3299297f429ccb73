"""The payer's side (§2.4–2.6, §4.8): the public page, card payment, notifications, settlement."""
import json
import threading
import time
from datetime import timedelta

import pytest

from ckbiz.gateways import base as gateways
from ckbiz.database import utcnow
from ckbiz.extensions import db
from ckbiz.models import Delivery, Invoice, InvoiceEvent, Merchant, Payment, PaymentNotification
from conftest import csrf_token
from factories import make_invoice, overdue


def start_payment(client, invoice):
    token = csrf_token(client, f"/i/{invoice.token}")
    response = client.post(f"/i/{invoice.token}/pay", data={"csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def notify(client, app, payment_id, invoice, status="succeeded", amount=None, event_id=None,
           secret="test-payment-secret", timestamp=None, body=None):
    body = body or json.dumps({
        "event_id": event_id or f"evt_{payment_id}_{status}", "payment_id": payment_id,
        "invoice_token": invoice.token, "amount_kop": amount if amount is not None else
        invoice.amount_kop + invoice.commission_kop, "currency": "RUB", "status": status,
        "created_at": "2026-11-26T10:00:00Z"}).encode()
    headers = {gateways.SIGNATURE_HEADER: gateways.sign(body, secret, timestamp)} if secret else {}
    return client.post("/payments/demo/callback", data=body, headers=headers, content_type="application/json")


def fresh(app, invoice):
    with app.app_context(), db.connection_context():
        return Invoice.get_by_id(invoice.id)


def events(app, invoice):
    with app.app_context(), db.connection_context():
        return [e.kind for e in InvoiceEvent.select().where(InvoiceEvent.invoice == invoice.number)]


def test_payer_page_shows_amount_commission_total_and_is_private(app, client, merchant):
    invoice = make_invoice(app, merchant, amount_kop=10000)
    response = client.get(f"/i/{invoice.token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"] and 'name="robots" content="noindex' in html
    for text in ("100,00\u00a0₽", "1,50\u00a0₽", "101,50\u00a0₽", "Оплатить банковской картой", "Демо-организация",
                 "Оплата переводом по QR-коду", "(МСК)"):
        assert text in html, text
    assert "<script" not in html
    assert len(response.get_data()) + len(client.get("/static/ckbiz.css").get_data()) < 30_000


def test_first_payer_view_is_recorded_once_but_not_the_merchants(app, client, auth, merchant):
    invoice = make_invoice(app, merchant)
    auth.login()
    client.get(f"/i/{invoice.token}")
    assert "viewed" not in events(app, invoice)
    auth.logout()
    client.get(f"/i/{invoice.token}")
    client.get(f"/i/{invoice.token}")
    assert events(app, invoice).count("viewed") == 1


@pytest.mark.parametrize("token", ["nope", "x" * 200, "../etc/passwd", "%00"])
def test_unknown_or_malformed_tokens_are_404(client, token):
    assert client.get(f"/i/{token}").status_code == 404
    assert client.get(f"/i/{token}/qr.png").status_code == 404


@pytest.mark.parametrize("status,note", [("paid", "Счет оплачен"), ("transferred", "Счет оплачен"),
                                         ("cancelled", "Счет отменен"), ("expired", "Срок оплаты счета истек")])
def test_closed_invoices_say_so_and_offer_no_payment(app, client, merchant, status, note):
    invoice = make_invoice(app, merchant, status=status)
    html = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert note in html and "Оплатить банковской картой" not in html
    token = csrf_token(client, "/login")
    assert client.post(f"/i/{invoice.token}/pay", data={"csrf_token": token}).status_code == 409
    assert client.get(f"/i/{invoice.token}/qr.png").status_code == 404


def test_payment_started_after_expiry_is_refused_even_while_issued(app, client, merchant):
    invoice = make_invoice(app, merchant)
    overdue(app, invoice)
    token = csrf_token(client, "/login")
    assert client.post(f"/i/{invoice.token}/pay", data={"csrf_token": token}).status_code == 409
    with app.app_context(), db.connection_context():
        assert Payment.select().count() == 0


def test_card_form_checks_each_field_beside_it(app, client, merchant):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    page = client.get(f"/pay/demo/{payment_id}").get_data(as_text=True)
    assert "ТЕСТОВЫЙ РЕЖИМ" in page
    response = client.post(f"/pay/demo/{payment_id}", data={
        "csrf_token": csrf_token(client, f"/pay/demo/{payment_id}"), "number": "4111 1111 1111 1112",
        "expiry": "01/20", "cvc": "12", "holder": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Номер карты введен с ошибкой", "Срок действия карты истек", "3 или 4 цифры", "Введите имя"):
        assert message in html
    assert fresh(app, invoice).status == "issued"


def test_callback_marks_paid_once_and_notifies_the_merchant(app, client, merchant, smtp):
    with app.app_context(), db.connection_context():
        Merchant.update(email="shop@example.com").execute()
    invoice = make_invoice(app, merchant, email="payer@example.com", phone=None)
    smtp.messages.clear()
    payment_id = start_payment(client, invoice)
    response = notify(client, app, payment_id, invoice)
    assert response.status_code == 200 and response.get_json() == {"outcome": "paid"}
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "duplicate"}
    assert notify(client, app, payment_id, invoice, event_id="another").get_json() == {"outcome": "already"}
    paid = fresh(app, invoice)
    assert (paid.status, paid.paid_by) == ("paid", "card") and events(app, invoice).count("paid") == 1
    subjects = sorted((r[0], m["Subject"]) for _, r, m in smtp.messages)
    assert subjects == [("payer@example.com", f"Платеж по счету № {invoice.number} получен"),
                        ("shop@example.com", f"Счет № {invoice.number} оплачен")]


def test_ten_concurrent_copies_give_one_payment_change_and_notice(app, merchant):
    with app.app_context(), db.connection_context():
        Merchant.update(email="shop@example.com").execute()
    invoice = make_invoice(app, merchant, email=None)
    client = app.test_client()
    payment_id = start_payment(client, invoice)
    body = json.dumps({"event_id": "evt_same", "payment_id": payment_id, "invoice_token": invoice.token,
                       "amount_kop": invoice.amount_kop + invoice.commission_kop, "currency": "RUB",
                       "status": "succeeded", "created_at": "x"}).encode()
    outcomes = []

    def send():
        response = notify(app.test_client(), app, payment_id, invoice, body=body)
        outcomes.append((response.status_code, response.get_json()["outcome"]))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([(200, "paid")] + [(200, "duplicate")] * 9)
    assert events(app, invoice).count("paid") == 1
    with app.app_context(), db.connection_context():
        assert Delivery.select().where(Delivery.kind == "paid_notice").count() == 1


@pytest.mark.parametrize("case", ["no signature", "wrong secret", "stale", "garbled", "reserialised"])
def test_forged_or_replayed_notifications_change_nothing(app, client, merchant, case):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    body = json.dumps({"event_id": "e1", "payment_id": payment_id, "invoice_token": invoice.token,
                       "amount_kop": invoice.amount_kop + invoice.commission_kop, "currency": "RUB",
                       "status": "succeeded"}).encode()
    if case == "no signature":
        response = notify(client, app, payment_id, invoice, body=body, secret=None)
    elif case == "wrong secret":
        response = notify(client, app, payment_id, invoice, body=body, secret="guess")
    elif case == "stale":
        response = notify(client, app, payment_id, invoice, body=body, timestamp=time.time() - 301)
    elif case == "garbled":
        response = client.post("/payments/demo/callback", data=body, content_type="application/json",
                               headers={gateways.SIGNATURE_HEADER: "t=abc,v1=zz"})
    else:
        signature = gateways.sign(body, "test-payment-secret")
        reserialised = json.dumps(json.loads(body), indent=1, sort_keys=True).encode()
        response = client.post("/payments/demo/callback", data=reserialised, content_type="application/json",
                               headers={gateways.SIGNATURE_HEADER: signature})
    assert response.status_code == 400
    assert fresh(app, invoice).status == "issued"
    assert notify(client, app, payment_id, invoice, body=body).get_json() == {"outcome": "paid"}


def test_unset_secret_fails_closed(app, client, merchant):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    app.config["PAYMENT_SECRET"] = ""
    assert notify(client, app, payment_id, invoice, secret="").status_code == 400
    assert fresh(app, invoice).status == "issued"


def test_unknown_payment_and_foreign_invoice_are_refused(app, client, merchant):
    invoice = make_invoice(app, merchant)
    other = make_invoice(app, merchant, key="999")
    payment_id = start_payment(client, invoice)
    assert notify(client, app, "demo_unknown", invoice).status_code == 400
    assert notify(client, app, payment_id, other).status_code == 400
    assert fresh(app, invoice).status == "issued" and fresh(app, other).status == "issued"
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "paid"}


def recorded(app):
    """Every row a notification could write or change."""
    with app.app_context(), db.connection_context():
        return {model.__name__: list(model.select().order_by(model.id).dicts())
                for model in (Invoice, Payment, PaymentNotification, InvoiceEvent, Delivery)}


@pytest.mark.parametrize("field", ["event_id", "payment_id", "invoice_token", "currency", "status"])
def test_a_nul_in_a_signed_notification_is_refused_and_changes_nothing(app, client, merchant, field):
    """No gateway writes a NUL and PostgreSQL refuses one in any string: such a notification
    used to be a 500 there, and on SQLite a NUL in event_id was taken for a new event."""
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    fields = {"event_id": "evt_nul", "payment_id": payment_id, "invoice_token": invoice.token,
              "amount_kop": invoice.amount_kop + invoice.commission_kop, "currency": "RUB",
              "status": "succeeded"}
    fields[field] = fields[field][:2] + "\u0000" + fields[field][2:]
    before = recorded(app)
    response = notify(client, app, payment_id, invoice, body=json.dumps(fields).encode())
    assert response.status_code == 400
    assert recorded(app) == before
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "paid"}


def test_wrong_amount_is_flagged_not_paid(app, client, merchant):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    response = notify(client, app, payment_id, invoice, amount=1)
    assert response.status_code == 400 and response.get_json() == {"outcome": "mismatch"}
    assert fresh(app, invoice).status == "issued"
    assert "payment_mismatch" in events(app, invoice)
    with app.app_context(), db.connection_context():
        assert Payment.get().attention.startswith("mismatch")


def test_payment_for_a_cancelled_invoice_is_recorded_for_refund(app, client, merchant):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    with app.app_context(), db.connection_context():
        Invoice.update(status="cancelled").execute()
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "refund"}
    assert fresh(app, invoice).status == "cancelled"
    with app.app_context(), db.connection_context():
        payment = Payment.get()
        assert payment.status == "succeeded" and payment.attention.startswith("refund")
    assert "payment_refund" in events(app, invoice)


def test_payment_begun_before_expiry_wins_over_the_expiry_job(app, client, merchant, runner):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    overdue(app, invoice)  # one minute ago: the payer had opened the card form before that
    with app.app_context(), db.connection_context():
        Payment.update(created_at=utcnow() - timedelta(minutes=5)).execute()
    assert runner.invoke(args=["jobs", "run", "expire"]).output.strip() == "expire: 1"
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "paid"}
    assert fresh(app, invoice).status == "paid"
    assert [e for e in events(app, invoice) if e in ("expired", "paid")] == ["expired", "paid"]


def test_settlement_moves_only_card_payments_after_the_delay(app, merchant, runner):
    card = make_invoice(app, merchant, status="paid", paid_by="card", paid_at=utcnow() - timedelta(days=2))
    recent = make_invoice(app, merchant, status="paid", paid_by="card", paid_at=utcnow())
    other = make_invoice(app, merchant, status="paid", paid_by="other", paid_at=utcnow() - timedelta(days=2))
    assert runner.invoke(args=["jobs", "run", "settle"]).output.strip() == "settle: 1"
    assert [fresh(app, i).status for i in (card, recent, other)] == ["transferred", "paid", "paid"]
    assert events(app, card)[-1] == "transferred"


def test_qr_code_decodes_to_the_gost_payload(app, client, merchant):
    import io
    import zxingcpp
    from PIL import Image
    invoice = make_invoice(app, merchant, key="34234234", amount_kop=150000)
    response = client.get(f"/i/{invoice.token}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.get_data())))
    assert code.text == (
        "ST00012|Name=Демо-организация|PersonalAcc=40702810200000012345|BankName=ПАО Сбербанк"
        "|BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7701000001|KPP=770101001"
        f"|Sum=150000|Purpose=Оплата по счету № {invoice.number}, ЛИЦ. СЧЕТ 34234234")


def test_payment_begun_after_expiry_needs_a_refund(app, client, merchant, runner):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    with app.app_context(), db.connection_context():
        Invoice.update(expires_at=utcnow() - timedelta(minutes=5)).execute()
    runner.invoke(args=["jobs", "run", "expire"])
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "refund"}
    assert fresh(app, invoice).status == "expired"
