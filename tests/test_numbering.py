"""Invoice numbers: each merchant numbers its own 1, 2, 3 …, also when invoices are issued at
the same moment, and a database numbered the old way keeps every number it sent."""
import threading

import pytest
from playhouse.migrations import Runner

from ckbiz import database
from ckbiz.domain import invoicing
from ckbiz.extensions import db
from ckbiz.models import Invoice, InvoiceEvent, Merchant, User
from conftest import PASSWORD, PG_URL, PHONE, AuthActions, csrf_token
from factories import make_invoice, other_merchant


def numbers_of(merchant):
    """The merchant's invoice numbers, in the order they were issued."""
    return [n for n, in Invoice.select(Invoice.number).where(Invoice.merchant == merchant.id)
            .order_by(Invoice.id).tuples()]


def test_two_merchants_whose_invoices_interleave_each_count_from_one(app, merchant):
    other = other_merchant(app)
    for owner in (merchant, other, merchant, other, merchant):
        make_invoice(app, owner)
    with app.app_context(), db.connection_context():
        assert numbers_of(merchant) == [1, 2, 3]
        assert numbers_of(other) == [1, 2]
        assert Merchant.get_by_id(merchant.id).last_invoice_number == 3


def issue_form(client, service_id, n):
    """A valid «Выставить счет» form for the demo service."""
    return {"csrf_token": csrf_token(client, "/invoices/new"), "service": service_id, "payer_phone": "9026376577",
            "payer_email": f"payer{n}@example.com", "validity_hours": "24", "amount": "100",
            "req-account": str(500000 + n), "req-fio": "Иванов Иван"}


def test_invoices_issued_at_the_same_moment_never_share_a_number(app, merchant):
    """Eight browsers, two merchants, issuing at once through the real form: every invoice
    is created, and each merchant's numbers are 1 … N without a repeat or a gap."""
    other = other_merchant(app)
    accounts = [(PHONE, PASSWORD), ("9037778899", "other password")]
    clients = []
    for i in range(8):
        client = app.test_client()
        phone, password = accounts[i % 2]
        assert AuthActions(client).login(phone, password).status_code == 303
        with app.app_context(), db.connection_context():
            service_id = User.get(User.phone == phone).merchant.services.first().id
        clients.append((client, service_id))
    per_client, start, answers = 5, threading.Barrier(len(clients)), []

    def issue(client, service_id, index):
        forms = [issue_form(client, service_id, index * 100 + k) for k in range(per_client)]
        start.wait()
        for form in forms:
            answers.append(client.post("/invoices", data=form).status_code)

    threads = [threading.Thread(target=issue, args=(client, service_id, i))
               for i, (client, service_id) in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [303] * len(clients) * per_client
    with app.app_context(), db.connection_context():
        for owner in (merchant, other):
            assert sorted(numbers_of(owner)) == list(range(1, 4 * per_client + 1))


OLD_SCHEMA = "migration_0003"


@pytest.fixture
def old_database(tmp_path):
    """An empty database migrated only up to 0003, when numbers were one global sequence."""
    if PG_URL:
        admin = database.connect(PG_URL)
        with admin.connection_context():
            admin.execute_sql(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE")
            admin.execute_sql(f"CREATE SCHEMA {OLD_SCHEMA}")
        target = database.connect(f"{PG_URL}?options=-c%20search_path%3D{OLD_SCHEMA}")
    else:
        target = database.connect(f"sqlite:///{tmp_path}/old.db")
    with target.connection_context():
        Runner(target, database.MIGRATIONS).up(target="0003_sms_cap_index")
    yield target
    if PG_URL:
        with admin.connection_context():
            admin.execute_sql(f"DROP SCHEMA {OLD_SCHEMA} CASCADE")


def test_the_migration_keeps_every_number_and_each_merchant_continues_from_its_highest(old_database):
    """Global numbers 1–4, interleaved between two merchants: after the migration A keeps 1 and 3,
    B keeps 2 and 4, their events still point at their invoices, and A's next is 4, B's 5."""
    sql = old_database.execute_sql
    mark = "%s" if PG_URL else "?"
    with old_database.connection_context():
        for merchant_id, phone in ((1, "9161234567"), (2, "9037778899")):
            sql(f"INSERT INTO merchant (id, phone, name, password_hash, session_token, active, timezone, "
                f"copy_invoices, must_change_password, created_at) VALUES ({mark}, {mark}, '', 'x', {mark}, "
                f"TRUE, '', FALSE, FALSE, '2026-11-01 00:00:00')", (merchant_id, phone, f"token{merchant_id}"))
            sql(f"INSERT INTO organisation (id, merchant_id, name, inn, kpp, account, bik, bank_name, corr_account, "
                f"recipient) VALUES ({mark}, {mark}, 'Орг', '7701000001', '', '40702810200000012345', '044525225', "
                f"'Банк', '30101810400000000225', 'Орг')", (merchant_id, merchant_id))
            sql(f"INSERT INTO service (id, merchant_id, organisation_id, display_name, title, category, fields, "
                f"commission_bp, commission_min_kop, created_at) VALUES ({mark}, {mark}, {mark}, 'Услуга', "
                f"'услуга', 'Прочие', '[]', 0, 0, '2026-11-01 00:00:00')", (merchant_id, merchant_id, merchant_id))
        for number, merchant_id in ((1, 1), (2, 2), (3, 1), (4, 2)):
            sql(f"INSERT INTO invoice (number, token, merchant_id, service_id, requisites, key_label, key_value, "
                f"comment, amount_kop, commission_kop, issued_with, issued_at, expires_at, status, "
                f"status_changed_at) VALUES ({mark}, {mark}, {mark}, {mark}, '[]', '', '', '', 100, 0, '{{}}', "
                f"'2026-11-01 00:00:00', '2026-11-04 00:00:00', 'issued', '2026-11-01 00:00:00')",
                (number, f"token-of-invoice-{number}", merchant_id, merchant_id))
            sql(f"INSERT INTO invoice_event (invoice_id, kind, at, note) VALUES ({mark}, 'issued', "
                f"'2026-11-01 00:00:00', {mark})", (number, f"event of {number}"))
        if PG_URL:  # rows written with explicit numbers: the sequence goes on after them, as in real use
            sql("SELECT setval(pg_get_serial_sequence('invoice', 'number'), 4)")
        Runner(old_database, database.MIGRATIONS).up()

        with old_database.bind_ctx([Merchant, Invoice, InvoiceEvent]):
            by_merchant = {m: [(i.number, i.token) for i in Invoice.select().where(Invoice.merchant == m)
                               .order_by(Invoice.number)] for m in (1, 2)}
            assert by_merchant == {1: [(1, "token-of-invoice-1"), (3, "token-of-invoice-3")],
                                   2: [(2, "token-of-invoice-2"), (4, "token-of-invoice-4")]}
            events = {e.invoice.token: e.note for e in InvoiceEvent.select()}
            assert events == {f"token-of-invoice-{n}": f"event of {n}" for n in range(1, 5)}
            assert [m.last_invoice_number for m in Merchant.select().order_by(Merchant.id)] == [3, 4]
            with old_database.atomic():
                assert [invoicing.take_number(Merchant.get_by_id(m)).last_invoice_number for m in (1, 2)] == [4, 5]
