"""Tenant isolation: another merchant's invoices and services answer 404 to everything, and nothing moves."""
import re

import pytest

from ckbiz.delivery import runner
from ckbiz.domain import outbox
from ckbiz.extensions import db
from ckbiz.models import Delivery, Invoice, Merchant, Service, User
from conftest import PHONE, AuthActions, csrf_token
from factories import invoice_numbered, make_invoice, other_merchant, user_with_phone
from security_helpers import (OTHER_PASSWORD, OTHER_PHONE, intruder, issue_data, route_values, rows_of,  # noqa: F401
                              table_counts)

# Arguments that are secrets handed out on purpose: the payer link, the gateway's own
# payment id (the card form the payer is sent to), the gateway name in its signed
# callback, a static file. Everything else names something a merchant owns.
PUBLIC_ARGUMENTS = {"token", "payment", "gateway", "filename"}
HTMX_TARGETS = ("dialog-slot", "invoice-dialog", "invoice-page", "rename-dialog", "history-results")
# A body that would pass every form of these routes if the object were the intruder's own.
SERVICE_FORM = {"name": "ООО Ромашка", "inn": "7707083893", "kpp": "773601001",
                "account": "40702810500000001234", "bik": "044525225", "bank_name": "ПАО Сбербанк",
                "corr_account": "30101810400000000225", "recipient": "", "display_name": "Захвачено",
                "title": "букеты", "category": "Торговля", "percent": "1", "minimum": "0", "maximum": "",
                "fields-0-label": "НОМЕР", "fields-0-kind": "digits", "key": "0"}
BODY = {"confirm": "1", "email": "thief@example.com", **SERVICE_FORM}


@pytest.fixture
def victim(app, merchant):
    """The first merchant with own services enabled and two invoices, № 1 and № 2; the
    intruder's own invoice is its № 1, so the walk uses № 2, a number only the victim has."""
    app.config["MERCHANT_SERVICES"] = "self"
    make_invoice(app, merchant, key="111000")
    invoice = make_invoice(app, merchant, key="777000")
    make_invoice(app, other_merchant(app, OTHER_PHONE, OTHER_PASSWORD), key="555000", phone="9165550000",
                 email="own@example.com")
    assert AuthActions(app.test_client()).login().status_code == 303  # a session of the victim's owner
    with app.app_context(), db.connection_context():
        accountant = User.create(merchant=merchant.id, phone="9165550101", name="Бухгалтер", role="accountant",
                                 password_hash="x")
    values = route_values(app, merchant, invoice, PHONE)
    assert invoice.number == 2
    # The accountant is a user of the victim's with no session: the walk's user_id names them.
    return {**values, "id": invoice.id, "user_id": accountant.id}


def owned_rules(app):
    """Every rule of the cabinet with an argument that names a merchant's object (the refund's
    payment id rides on the merchant's invoice number). The API's take a key, not the session:
    tests/api/test_api_access.py walks them with another merchant's key."""
    return [r for r in app.url_map.iter_rules() if r.arguments - PUBLIC_ARGUMENTS and not r.rule.startswith("/api/")]


def path_for(rule, values):
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(\w+:)?{name}>", str(values[name]), path)
    return path


def test_the_walk_covers_every_route_that_takes_an_id(app):
    endpoints = {r.endpoint for r in owned_rules(app)}
    assert endpoints == {
        "invoice.show", "invoice.deliveries_table", "invoice_document.pdf", "invoice.remind", "invoice.mark_paid",
        "invoice.cancel", "invoice.send", "invoice.repeat", "invoice.auto_remind", "invoice.refund", "settings.rename",
        "settings.edit_service", "reminders.remove", "team.role", "team.remove", "team.end_session",
        "statements.show", "statements.match", "api_keys.revoke", "webhooks.retry"}


def test_each_merchant_numbers_its_own_invoices_and_sees_only_its_own_number_one(app, merchant, victim, intruder):
    """№ 1 is a different invoice for each merchant: each sees its own under that number."""
    own = intruder.get("/invoices/1").get_data(as_text=True)
    assert "555000" in own and "111000" not in own
    assert intruder.get("/invoices/2").status_code == 404


def test_another_merchants_objects_answer_404_to_every_method_and_change_nothing(app, merchant, victim, intruder):
    counts, owned = table_counts(app), rows_of(app, merchant)
    token = csrf_token(intruder, "/settings")
    tried = 0
    for rule in owned_rules(app):
        path = path_for(rule, victim)
        variants = [{}] + [{"HX-Request": "true", "HX-Target": t} for t in HTMX_TARGETS + (
            f"invoice-{victim['number']}",)]
        for headers in variants:
            if "GET" in rule.methods:
                response = intruder.get(path, headers=headers)
                assert response.status_code == 404, ("GET", path, headers, response.status_code)
                tried += 1
            if "POST" in rule.methods:
                # A form carries its token in the body, htmx in the X-CSRFToken header (base.html).
                token_in = {"X-CSRFToken": token} if headers else {}
                body = {**BODY, "merchant_id": merchant.id, **({} if headers else {"csrf_token": token})}
                response = intruder.post(path, data=body, headers={**headers, **token_in})
                assert response.status_code == 404, ("POST", path, headers, response.status_code)
                tried += 1
    assert tried >= 60
    assert table_counts(app) == counts
    assert rows_of(app, merchant) == owned


def test_the_same_requests_work_for_the_owner(app, client, auth, merchant, victim):
    """The 404s above come from ownership, not from a broken request."""
    auth.login()
    number = victim["number"]
    assert client.get(f"/invoices/{number}").status_code == 200
    assert client.get(f"/settings/services/{victim['service_id']}").status_code == 200
    token = csrf_token(client, "/settings")
    response = client.post(f"/invoices/{number}/cancel", data={"confirm": "1", "csrf_token": token})
    assert response.status_code == 303
    with app.app_context(), db.connection_context():
        assert invoice_numbered(merchant, number).status == "cancelled"


def test_history_search_csv_and_totals_never_show_another_merchants_invoices(app, merchant, victim, intruder):
    number = victim["number"]
    for q in (str(number), "777000", "9026376577", "payer@example.com"):
        html = intruder.get("/invoices", query_string={"q": q},
                            headers={"HX-Request": "true", "HX-Target": "history-results"}).get_data(as_text=True)
        assert "Ничего не найдено" in html and f"/invoices/{number}" not in html
        csv = intruder.get("/invoices.csv", query_string={"q": q}).get_data(as_text=True)
        assert len(csv.strip().splitlines()) == 1  # the header alone
        assert "200,00" not in intruder.get("/invoices/totals", query_string={"q": q}).get_data(as_text=True)


def test_a_merchant_id_smuggled_into_the_issue_form_is_ignored(app, merchant, victim, intruder):
    with app.app_context(), db.connection_context():
        own = Service.of(intruder.merchant).first()
    data = issue_data(intruder, own.id, merchant_id=merchant.id, merchant=merchant.id)
    response = intruder.post(f"/invoices?merchant_id={merchant.id}&merchant={merchant.id}", data=data)
    assert response.status_code == 303
    with app.app_context(), db.connection_context():
        newest = Invoice.select().order_by(Invoice.id.desc()).first()
        assert newest.merchant_id == intruder.merchant.id
        assert Invoice.select().where(Invoice.merchant == merchant.id).count() == 2


def test_another_merchants_service_cannot_be_picked_in_the_issue_form(app, merchant, victim, intruder):
    counts = table_counts(app)
    data = {"csrf_token": csrf_token(intruder, "/invoices/new"), "service": victim["service_id"],
            "payer_phone": "9026376577", "validity_hours": "24", "amount": "10"}
    assert intruder.post("/invoices", data=data).status_code == 422
    assert intruder.post("/invoices/preview", data=data).status_code == 422
    for path in ("/invoices/new/fields", "/invoices/new/commission"):
        response = intruder.get(path, query_string={"service": victim["service_id"], "amount": "10"})
        assert response.status_code == 404, path
    assert table_counts(app) == counts


def test_a_merchant_id_smuggled_into_settings_and_queries_is_ignored(app, merchant, victim, intruder):
    owned = rows_of(app, merchant)
    token = csrf_token(intruder, "/settings")
    response = intruder.post(f"/settings?merchant_id={merchant.id}", data={
        "csrf_token": token, "merchant_id": merchant.id, "id": merchant.id, "default_validity_hours": "5",
        "email": "thief@example.com", "timezone": "Asia/Omsk"})
    assert response.status_code == 303
    html = intruder.get(f"/invoices?merchant_id={merchant.id}&merchant={merchant.id}").get_data(as_text=True)
    assert "777000" not in html
    assert "777000" not in intruder.get(f"/invoices.csv?merchant_id={merchant.id}").get_data(as_text=True)
    assert rows_of(app, merchant) == owned
    with app.app_context(), db.connection_context():
        assert Merchant.get_by_id(intruder.merchant.id).email == "thief@example.com"


def test_a_delivery_pointing_at_another_merchants_invoice_is_never_sent(app, merchant, victim, intruder, smtp):
    """The task re-reads the row and its invoice when it runs: an outbox row whose merchant
    is not the invoice's (a bug, or a row written by hand) fails instead of mailing one
    merchant's invoice under another's name."""
    with app.app_context(), db.connection_context():
        row = outbox.add(intruder.merchant.id, victim["id"], "email", "sent_to", "thief@example.com")
        assert runner.deliver(row.id).state == "failed"
        assert Delivery.get_by_id(row.id).state == "failed"
    assert all("thief@example.com" not in rcpts for _, rcpts, _ in smtp.messages)


def test_a_temporary_password_goes_only_to_its_own_users_phone(app, merchant, intruder):
    """An outbox row that would send the owner's temporary password to the intruder's phone, or
    the intruder's to the owner's merchant, fails when the task re-reads it; no password is made."""
    with app.app_context(), db.connection_context():
        owner, other = user_with_phone(PHONE), user_with_phone(OTHER_PHONE)
        for row in (outbox.add(merchant.id, None, "sms", "password", OTHER_PHONE, user=owner.id),
                    outbox.add(merchant.id, None, "sms", "password", OTHER_PHONE, user=other.id)):
            assert runner.deliver(row.id).state == "failed"
        assert User.select().where(User.temp_password_hash.is_null(False)).count() == 0


def test_a_merchant_id_smuggled_into_a_new_service_is_ignored(app, merchant, victim, intruder):
    owned = rows_of(app, merchant)
    token = csrf_token(intruder, "/settings")
    response = intruder.post(f"/settings/services/new?merchant_id={merchant.id}", data={
        **SERVICE_FORM, "csrf_token": token, "merchant_id": merchant.id, "merchant": merchant.id})
    assert response.status_code == 303
    with app.app_context(), db.connection_context():
        assert Service.get(Service.display_name == "Захвачено").merchant_id == intruder.merchant.id
    assert rows_of(app, merchant) == owned


def test_payer_links_are_unguessable_secrets_not_numbers(app, merchant, client):
    """Why the walk may leave /i/<token> public: the token is 192 random bits, and near misses find nothing."""
    invoices = [make_invoice(app, merchant, key=str(10000 + n)) for n in range(20)]
    tokens = {invoice.token for invoice in invoices}
    assert len(tokens) == 20
    for invoice in invoices:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", invoice.token)
    token = invoices[0].token
    assert client.get(f"/i/{token}").status_code == 200
    for near in (token[:-1], token + "A", token[:-1] + ("A" if token[-1] != "A" else "B"), token.upper(),
                 str(invoices[0].number)):
        if near != token:
            assert client.get(f"/i/{near}").status_code == 404, near
