"""A query built once (database.Prepared) still answers each run with that run's values."""
from datetime import timedelta

import pytest

from ckbiz import database
from ckbiz.database import Prepared, utcnow
from ckbiz.extensions import db
from ckbiz.models import Invoice, Merchant
from factories import make_invoice


@Prepared
def invoice_by_token(token):
    return Invoice.select(Invoice, Merchant).join(Merchant).where(Invoice.token == token).limit(1)


@Prepared
def invoice_numbered(merchant_id, number):
    return Invoice.select().where(Invoice.merchant == merchant_id, Invoice.number == number).limit(1)


@Prepared
def first_issued_after(since):
    return Invoice.select().where(Invoice.issued_at > since).order_by(Invoice.issued_at).limit(1)


def test_each_run_finds_the_row_of_its_own_value(app, merchant):
    first, second = make_invoice(app, merchant), make_invoice(app, merchant, key="777")
    with app.app_context(), db.connection_context():
        assert invoice_by_token.first(first.token).number == first.number
        found = invoice_by_token.first(second.token)
        assert (found.number, found.key_value, found.merchant.name) == (second.number, "777", "Магазин")
        assert invoice_by_token.first("no-such-token-here") is None


def test_numbers_are_bound_per_run_too(app, merchant):
    first, second = make_invoice(app, merchant), make_invoice(app, merchant)
    with app.app_context(), db.connection_context():
        assert invoice_numbered.first(merchant.id, first.number).token == first.token
        assert invoice_numbered.first(merchant.id, second.number).token == second.token
        assert invoice_numbered.first(merchant.id + 1, first.number) is None


def test_a_moment_is_bound_per_run_not_frozen_at_the_first(app, merchant):
    older, newer = make_invoice(app, merchant), make_invoice(app, merchant)
    now = utcnow()
    with app.app_context(), db.connection_context():
        Invoice.update(issued_at=now - timedelta(days=3)).where(Invoice.id == older.id).execute()
        Invoice.update(issued_at=now - timedelta(days=1)).where(Invoice.id == newer.id).execute()
        assert first_issued_after.first(now - timedelta(days=4)).number == older.number
        assert first_issued_after.first(now - timedelta(days=2)).number == newer.number
        assert first_issued_after.first(now) is None


def test_a_value_standing_twice_is_refused_before_anything_runs(app, merchant):
    twice = Prepared(lambda text: Invoice.select().where((Invoice.token == text) | (Invoice.key_value == text)))
    with app.app_context(), db.connection_context(), pytest.raises(ValueError, match="once"):
        twice.first("34234234")


def test_a_query_built_once_follows_its_models_to_another_database(app, merchant, tmp_path):
    invoice = make_invoice(app, merchant)
    other = database.connect(f"sqlite:///{tmp_path}/other.db")
    database.migrate(other)
    with app.app_context(), db.connection_context():
        assert invoice_by_token.first(invoice.token).number == invoice.number
        with other.bind_ctx([Invoice, Merchant]):
            assert invoice_by_token.first(invoice.token) is None  # the other database has no invoices
        assert invoice_by_token.first(invoice.token).number == invoice.number
