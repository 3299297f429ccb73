"""Shared pieces of the API tests: a key of the `merchant` fixture's, a client that sends it,
and a body that issues an invoice for the merchant's first service."""
import pytest

from ckbiz.domain import api_keys
from ckbiz.extensions import db
from ckbiz.models import Invoice, InvoiceEvent, Service


def new_key(app, merchant, name="Магазин"):
    """A fresh key of the merchant, as «Создать ключ» shows it once."""
    with app.app_context(), db.connection_context():
        return api_keys.create(merchant, name, "Владелец")[1]


class Api:
    """The test client with `Authorization: Bearer <key>` on every request."""

    def __init__(self, client, key):
        self.client, self.key = client, key

    def headers(self, extra):
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, path, headers=None, **kwargs):
        return self.client.get(path, headers=self.headers(headers), **kwargs)

    def post(self, path, json=None, headers=None, **kwargs):
        return self.client.post(path, json=json, headers=self.headers(headers), **kwargs)


@pytest.fixture
def api_key(app, merchant):
    return new_key(app, merchant)


@pytest.fixture
def api(app, api_key):
    return Api(app.test_client(), api_key)


def first_service_id(app, merchant):
    with app.app_context(), db.connection_context():
        return Service.of(merchant).first().id


def issue_body(app, merchant, **changes):
    """A request body that issues 1 500,00 ₽ for the merchant's first (demo) service."""
    body = {"service_id": first_service_id(app, merchant), "payer": {"phone": "9026376577",
                                                                     "email": "payer@example.com"},
            "requisites": {"account": "34234234", "fio": "Иванов Иван"}, "amount": "1500.00"}
    body.update(changes)
    return body


def invoices_of(app, merchant):
    """The merchant's invoices, oldest first."""
    with app.app_context(), db.connection_context():
        return list(Invoice.of(merchant).order_by(Invoice.number))


def events_of(app, merchant, number):
    """(kind, actor) of the events of the merchant's invoice with this number."""
    with app.app_context(), db.connection_context():
        invoice = Invoice.of(merchant).where(Invoice.number == number).get()
        return [(e.kind, e.actor) for e in invoice.events.order_by(InvoiceEvent.id)]
