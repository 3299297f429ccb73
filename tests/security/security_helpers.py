"""Shared pieces of the security suite: snapshots of the database and a second merchant."""
import pytest

from ckbiz.domain import api_keys, outbox, reminders
from ckbiz.extensions import db
from ckbiz.models import (
    MODELS, Delivery, Invoice, InvoiceEvent, Merchant, Organisation, Service, UserSession, Webhook,
)
from conftest import AuthActions, csrf_token
from factories import make_statement, other_merchant, user_with_phone

# Counters and captchas change on every login or page view by design; everything else must not.
VOLATILE = ("Captcha", "RateCounter")

OTHER_PHONE, OTHER_PASSWORD = "9037778899", "other password"

# A payee organisation with valid checksums, for the form of a merchant's own service.
ORGANISATION = {"inn": "7707083893", "kpp": "773601001", "account": "40702810500000001234",
                "bik": "044525225", "corr_account": "30101810400000000225", "percent": "1",
                "minimum": "0", "maximum": ""}


def route_values(app, merchant, invoice, phone):
    """A value for every argument of the URL map, naming the merchant's own objects: the invoice,
    its payer token, a service, a reminder step, a statement and its line, the user with this
    phone and their session, an API key."""
    statement = make_statement(app, merchant)
    with app.app_context(), db.connection_context():
        user = user_with_phone(phone)
        return {"number": invoice.number, "token": invoice.token, "service_id": Service.of(merchant).first().id,
                "gateway": "demo", "payment": "demo_x", "filename": "ckbiz.css", "user_id": user.id,
                "session_id": UserSession.get(UserSession.user == user.id).id,
                "step_id": reminders.add_step(merchant, "after_issue", 24, "email").id,
                "key_id": api_keys.create(merchant, "Магазин", "оператор")[0].id,
                "delivery_id": webhook_delivery(merchant).id, **statement}


def webhook_delivery(merchant):
    """A logged webhook event of the merchant's (its URL is loopback: a send is refused before any socket)."""
    Webhook.get_or_create(merchant=merchant.id, defaults={"url": "http://127.0.0.1:9/hook"})
    [row] = outbox.webhook(merchant.id, None, "ping")
    return row


def table_counts(app):
    """Rows per table, apart from rate counters and captchas."""
    with app.app_context(), db.connection_context():
        return {m.__name__: m.select().count() for m in MODELS if m.__name__ not in VOLATILE}


def rows_of(app, merchant):
    """Every row the merchant owns, column by column, to compare before and after an attack."""
    with app.app_context(), db.connection_context():
        ids = Invoice.select(Invoice.id).where(Invoice.merchant == merchant.id)
        return {
            "merchant": list(Merchant.select().where(Merchant.id == merchant.id).dicts()),
            "organisations": list(Organisation.select().where(Organisation.merchant == merchant.id)
                                  .order_by(Organisation.id).dicts()),
            "services": list(Service.select().where(Service.merchant == merchant.id).order_by(Service.id).dicts()),
            "invoices": list(Invoice.select().where(Invoice.merchant == merchant.id)
                             .order_by(Invoice.number).dicts()),
            "events": list(InvoiceEvent.select().where(InvoiceEvent.invoice.in_(ids))
                           .order_by(InvoiceEvent.id).dicts()),
            "deliveries": list(Delivery.select().where(Delivery.merchant == merchant.id)
                               .order_by(Delivery.id).dicts()),
        }


@pytest.fixture
def intruder(app):
    """A second merchant, logged in on a client of its own."""
    merchant = other_merchant(app, OTHER_PHONE, OTHER_PASSWORD)
    client = app.test_client()
    response = AuthActions(client).login(OTHER_PHONE, OTHER_PASSWORD)
    assert response.status_code == 303
    client.merchant = merchant
    return client


def issue_data(client, service_id, **overrides):
    """A valid «Выставить счет» form for a demo service, with the client's CSRF token."""
    return {"csrf_token": csrf_token(client, "/invoices/new"), "service": service_id,
            "payer_phone": "9026376577", "payer_email": "", "comment": "", "validity_hours": "24",
            "amount": "100", "req-account": "34234234", "req-fio": "Иванов Иван", "req-address": "",
            "req-month": "04.2016", **overrides}
