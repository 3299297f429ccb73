"""Money that needs a person: a payment to refund is shown in the history (a banner and a filter)
and told by SMS to the owner when the merchant has no e-mail; a wrong amount's flag goes once a
valid notification pays the payment."""
from ckbiz.extensions import db
from ckbiz.models import Delivery, Invoice, Merchant, Payment
from conftest import PHONE, last_sms
from factories import make_invoice
from test_payments import notify, start_payment


def cancelled_and_paid(app, client, merchant, key):
    """A card payment confirmed after the merchant cancelled the invoice: money to return."""
    invoice = make_invoice(app, merchant, key=key, amount_kop=150000, email=None, phone=None)
    payment_id = start_payment(client, invoice)
    with app.app_context(), db.connection_context():
        Invoice.update(status="cancelled").where(Invoice.id == invoice.id).execute()
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "refund"}
    return invoice


def test_a_refund_is_sent_by_sms_to_the_owner_when_the_merchant_has_no_e_mail(app, client, merchant):
    with app.app_context(), db.connection_context():
        Merchant.update(email=None, copy_email=None).where(Merchant.id == merchant.id).execute()
    invoice = cancelled_and_paid(app, client, merchant, "111")
    with app.app_context(), db.connection_context():
        rows = [(d.channel, d.kind, d.recipient, d.state) for d in Delivery.select().where(Delivery.kind == "refund_notice")]
    assert rows == [("sms", "refund_notice", PHONE, "sent")]
    sms = last_sms(app)
    assert "+7" + PHONE in sms and f"По счету № {invoice.number}" in sms and "верните деньги" in sms
    assert f"http://ckbiz.test/invoices/{invoice.number}" in sms


def test_the_history_shows_money_to_return_and_filters_it(app, client, logged_in, merchant):
    make_invoice(app, merchant, key="222", email=None, phone=None)
    first = cancelled_and_paid(app, client, merchant, "333")
    cancelled_and_paid(app, client, merchant, "444")
    page = logged_in.get("/invoices").get_data(as_text=True)
    assert "Нужно вернуть деньги плательщикам: платежей — 2" in page
    assert "3\u00a0045,00\u00a0₽" in page and 'href="/invoices?refund=1"' in page
    filtered = logged_in.get("/invoices?refund=1").get_data(as_text=True)
    assert f"/invoices/{first.number}" in filtered and "222" not in filtered and "444" in filtered
    with app.app_context(), db.connection_context():
        Payment.update(refund_state="refunded").where(Payment.invoice == first.id).execute()
    assert "платежей — 1" in logged_in.get("/invoices").get_data(as_text=True)


def test_no_banner_while_nothing_is_to_return(app, logged_in, merchant):
    make_invoice(app, merchant)
    assert "Нужно вернуть деньги" not in logged_in.get("/invoices").get_data(as_text=True)


def test_a_later_valid_notification_clears_the_mismatch_flag(app, client, merchant):
    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    wrong = notify(client, app, payment_id, invoice, amount=1, event_id="evt-wrong")
    assert wrong.get_json() == {"outcome": "mismatch"}
    assert notify(client, app, payment_id, invoice, event_id="evt-right").get_json() == {"outcome": "paid"}
    with app.app_context(), db.connection_context():
        payment = Payment.get()
        assert payment.status == "succeeded" and payment.attention == ""
        assert Invoice.get_by_id(invoice.id).status == "paid"
