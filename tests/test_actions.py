"""Actions (§6.1, §6.3) and expiry (§6.2): allowed transitions work, every other one is refused."""
import json

import pytest

from ckbiz.extensions import db
from ckbiz.models import Delivery, Invoice, InvoiceEvent
from conftest import csrf_token
from factories import make_invoice, other_merchant, overdue

HX_ROW = lambda n: {"HX-Request": "true", "HX-Target": "history-actions"}  # noqa: E731  (the history's one form)
HX_DIALOG = {"HX-Request": "true", "HX-Target": "invoice-dialog"}


def post(client, path, headers=None, **data):
    data.setdefault("csrf_token", csrf_token(client, "/invoices"))
    return client.post(path, data=data, headers=headers or {})


def state(app, invoice):
    with app.app_context(), db.connection_context():
        fresh = Invoice.get_by_id(invoice.id)
        events = [e.kind for e in fresh.events.order_by(InvoiceEvent.id)]
        return fresh.status, fresh.paid_by, events


def test_cancel_asks_first_without_javascript(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    response = post(logged_in, f"/invoices/{invoice.number}/cancel", next="/invoices")
    assert response.status_code == 200 and "Отменить счет" in response.get_data(as_text=True)
    assert state(app, invoice)[0] == "issued"
    response = post(logged_in, f"/invoices/{invoice.number}/cancel", confirm="1", next="/invoices")
    assert response.status_code == 303 and response.headers["Location"] == "/invoices"
    assert "Счет № %d отменен" % invoice.number in logged_in.get("/invoices").get_data(as_text=True)
    assert state(app, invoice)[0] == "cancelled" and state(app, invoice)[2][-1] == "cancelled"


def test_cancel_from_the_row_updates_it_in_place(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    response = post(logged_in, f"/invoices/{invoice.number}/cancel", HX_ROW(invoice.number), confirm="1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="invoice-{invoice.number}"')
    assert "отменен" in html and "<html" not in html
    message = json.loads(response.headers["HX-Trigger"])["showMessage"]["message"]
    assert message == f"Счет № {invoice.number} отменен"
    assert "Напомнить" not in html


def test_a_double_click_is_refused_and_changes_nothing(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    post(logged_in, f"/invoices/{invoice.number}/cancel", HX_ROW(invoice.number), confirm="1")
    again = post(logged_in, f"/invoices/{invoice.number}/cancel", HX_ROW(invoice.number), confirm="1")
    assert again.status_code == 409
    message = json.loads(again.headers["HX-Trigger"])["showMessage"]
    assert message["level"] == "error" and "отменен" in message["message"]
    assert state(app, invoice)[2].count("cancelled") == 1


@pytest.mark.parametrize("status", ["issued", "expired"])
def test_paid_other_way_from_issued_or_expired(app, logged_in, merchant, status):
    invoice = make_invoice(app, merchant, status=status)
    response = post(logged_in, f"/invoices/{invoice.number}/mark-paid", HX_ROW(invoice.number), confirm="1")
    assert response.status_code == 200 and "другим способом" in response.get_data(as_text=True)
    assert state(app, invoice)[:2] == ("paid", "other")


REFUSED = [
    ("paid", "cancel"), ("paid", "mark-paid"), ("paid", "remind"), ("paid", "send"),
    ("transferred", "cancel"), ("transferred", "mark-paid"), ("transferred", "remind"),
    ("expired", "cancel"), ("expired", "remind"), ("expired", "send"),
    ("cancelled", "cancel"), ("cancelled", "mark-paid"), ("cancelled", "remind"), ("cancelled", "send"),
]


@pytest.mark.parametrize("status,action", REFUSED)
def test_forbidden_transitions_are_refused_with_a_message(app, logged_in, merchant, status, action):
    invoice = make_invoice(app, merchant, status=status)
    before = state(app, invoice)
    with app.app_context(), db.connection_context():
        deliveries_before = Delivery.select().count()
    plain = post(logged_in, f"/invoices/{invoice.number}/{action}", confirm="1", email="x@example.com")
    assert plain.status_code == 303
    page = logged_in.get(plain.headers["Location"]).get_data(as_text=True)
    assert "можно" in page
    htmx = post(logged_in, f"/invoices/{invoice.number}/{action}", HX_ROW(invoice.number), confirm="1",
                email="x@example.com")
    assert htmx.status_code == 409
    assert state(app, invoice) == before
    with app.app_context(), db.connection_context():
        assert Delivery.select().count() == deliveries_before


def test_remind_resends_by_email_and_sms(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    response = post(logged_in, f"/invoices/{invoice.number}/remind", HX_ROW(invoice.number))
    assert response.status_code == 200
    with app.app_context(), db.connection_context():
        reminders = [(d.channel, d.state) for d in Delivery.select().where(Delivery.kind == "reminder")]
    assert sorted(reminders) == [("email", "sent"), ("sms", "sent")]
    assert "reminded" in state(app, invoice)[2]


def test_remind_is_refused_once_the_time_ran_out(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    overdue(app, invoice)
    response = post(logged_in, f"/invoices/{invoice.number}/remind", HX_ROW(invoice.number))
    assert response.status_code == 409
    assert "срок оплаты прошел" in json.loads(response.headers["HX-Trigger"])["showMessage"]["message"]


def test_send_to_another_address(app, logged_in, merchant, smtp):
    invoice = make_invoice(app, merchant, email=None)
    response = post(logged_in, f"/invoices/{invoice.number}/send", HX_DIALOG, email="boss@example.org")
    assert response.status_code == 200 and "<dialog" in response.get_data(as_text=True)
    assert [r for _, r, _ in smtp.messages] == [["boss@example.org"]]
    assert state(app, invoice)[2][-2:] == ["sent_to", "email_sent"]


def test_send_to_a_malformed_address_sends_nothing(app, logged_in, merchant, smtp):
    invoice = make_invoice(app, merchant, email=None)
    response = post(logged_in, f"/invoices/{invoice.number}/send", HX_DIALOG, email="not an address")
    assert response.status_code == 422
    assert "Адрес эл. почты указан неверно" in response.get_data(as_text=True)
    plain = post(logged_in, f"/invoices/{invoice.number}/send", email="")
    assert plain.status_code == 422 and "Укажите адрес" in plain.get_data(as_text=True)
    assert smtp.messages == []


def test_repeat_issues_a_linked_copy_with_a_fresh_validity(app, logged_in, merchant):
    invoice = make_invoice(app, merchant, status="expired", amount_kop=777700)
    response = post(logged_in, f"/invoices/{invoice.number}/repeat")
    assert response.status_code == 303
    new_number = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context(), db.connection_context():
        new = Invoice.get(Invoice.number == new_number)
        assert new.status == "issued" and new.repeat_of_id == invoice.id
        assert (new.amount_kop, new.key_value, new.payer_phone, new.payer_email) == (
            777700, invoice.key_value, invoice.payer_phone, invoice.payer_email)
        assert (new.expires_at - new.issued_at).total_seconds() == 72 * 3600
    assert state(app, invoice)[2][-1] == "repeated"
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Повтор счета" in page and f"№ {invoice.number}" in page


def test_repeat_from_the_dialog_shows_the_new_invoice_and_adds_its_row(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    html = post(logged_in, f"/invoices/{invoice.number}/repeat", HX_DIALOG).get_data(as_text=True)
    assert f"Инвойс № {invoice.number + 1}</strong>" in html
    assert 'hx-swap-oob="afterbegin:#history-rows"' in html


def test_the_dialog_and_the_page_show_events_and_deliveries(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    dialog = logged_in.get(f"/invoices/{invoice.number}",
                           headers={"HX-Request": "true", "HX-Target": "dialog-slot"}).get_data(as_text=True)
    assert dialog.startswith("<dialog") and "ВАМ ВЫСТАВЛЕН СЧЕТ".lower() in dialog.lower()
    for text in ("События", "выставлен", "Отправка", "Отправить счет на почту", "Отправить", "Повторить инвойс"):
        assert text in dialog, text
    page = logged_in.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "<html" in page and "Повторить инвойс" in page


def test_every_route_is_404_for_another_merchant(app, client, auth, merchant):
    invoice = make_invoice(app, merchant)
    before = state(app, invoice)
    other_merchant(app)
    auth.login(phone="9037778899", password="other password")
    n = invoice.number
    for path in (f"/invoices/{n}", f"/invoices/{n}/deliveries"):
        assert client.get(path).status_code == 404
        assert client.get(path, headers={"HX-Request": "true", "HX-Target": "dialog-slot"}).status_code == 404
    for action in ("remind", "mark-paid", "cancel", "send", "repeat"):
        for headers in ({}, HX_ROW(n), HX_DIALOG):
            assert post(client, f"/invoices/{n}/{action}", headers, confirm="1",
                        email="a@example.com").status_code == 404
    assert state(app, invoice) == before
    with app.app_context(), db.connection_context():
        assert Invoice.select().count() == 1


def test_expiry_job_expires_everything_overdue_once(app, runner, merchant):
    due = [make_invoice(app, merchant, key=str(i)) for i in range(3)]
    fresh = make_invoice(app, merchant, key="fresh")
    for invoice in due:
        overdue(app, invoice)
    assert runner.invoke(args=["jobs", "run", "expire"]).output.strip() == "expire: 3"
    assert runner.invoke(args=["jobs", "run", "expire"]).output.strip() == "expire: 0"
    for invoice in due:
        status, _, events = state(app, invoice)
        assert status == "expired" and events.count("expired") == 1
    assert state(app, fresh)[0] == "issued"


def test_two_expiry_runs_at_once_expire_each_invoice_once(app, merchant):
    import threading
    from ckbiz.domain import lifecycle as transitions
    due = [make_invoice(app, merchant, key=str(i)) for i in range(20)]
    for invoice in due:
        overdue(app, invoice)
    results = []

    def run():
        with app.app_context(), db.connection_context():
            results.append(transitions.expire_overdue())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 20]
    with app.app_context(), db.connection_context():
        assert InvoiceEvent.select().where(InvoiceEvent.kind == "expired").count() == 20


def test_the_payer_page_checks_expiry_itself(app, client, merchant):
    invoice = make_invoice(app, merchant)
    assert "Срок оплаты счета истек" not in client.get(f"/i/{invoice.token}").get_data(as_text=True)
    overdue(app, invoice)
    assert "Срок оплаты счета истек" in client.get(f"/i/{invoice.token}").get_data(as_text=True)
