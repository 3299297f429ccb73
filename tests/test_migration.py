"""Upgrading a real installation: a database made by ckbiz as it was released before users and
per-merchant numbers, migrated by today's code. Passwords, sessions and numbers all survive."""
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ckbiz import create_app, database
from ckbiz.extensions import db
from ckbiz.models import Invoice, Merchant, User, UserSession
from conftest import PG_URL, AuthActions

# main as released before this change: one login per merchant, invoice numbers one global sequence.
RELEASED = "5142c532697429bd2371ea09421900ce1a22cb99"
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "the released password"
SCHEMA = "released_copy"
# Run by the released code in its own process: log in as its owner and print the session cookie.
LOGIN = """
from ckbiz import create_app
app = create_app()
client = app.test_client()
page = client.get("/login").get_data(as_text=True)
token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
answer = client.post("/login", data={"csrf_token": token, "phone": "9000000000", "password": %r})
assert answer.status_code == 303, answer.status_code
print(client.get_cookie("session").value)
""" % PASSWORD


def released_checkout(folder):
    """The released tree, from this repository's own history."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", RELEASED], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.fixture
def released_database(tmp_path):
    """A database made by the released code: init-db, the demo merchants with invoices, a login.

    Returns (its URL, the instance folder both versions share, the released session cookie).
    """
    tree = released_checkout(tmp_path / "released")
    instance = tmp_path / "instance"
    instance.mkdir()
    if PG_URL:
        admin = database.connect(PG_URL)
        with admin.connection_context():
            admin.execute_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            admin.execute_sql(f"CREATE SCHEMA {SCHEMA}")
        url = f"{PG_URL}?options=-c%20search_path%3D{SCHEMA}"
    else:
        url = f"sqlite:///{tmp_path}/ckbiz.db"
    env = {**os.environ, "CKBIZ_INSTANCE_PATH": str(instance), "CKBIZ_DATABASE_URL": url,
           "CKBIZ_HUEY_URL": f"sqlite:///{tmp_path}/huey.db", "PYTHONPATH": str(tree)}
    env.pop("CKBIZ_TEST_DATABASE_URL", None)

    def released(*args):
        return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True,
                              check=True, timeout=120).stdout

    released("-m", "flask", "--app", "app", "init-db")
    released("-m", "flask", "--app", "app", "demo", "--password", PASSWORD, "--merchants", "2", "--invoices", "9")
    cookie = released("-c", LOGIN).strip()
    yield url, instance, cookie
    if PG_URL:
        with admin.connection_context():
            admin.execute_sql(f"DROP SCHEMA {SCHEMA} CASCADE")


def test_the_released_database_migrates_keeping_passwords_sessions_and_numbers(released_database, monkeypatch):
    url, instance, cookie = released_database
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True, "DATABASE_URL": url, "BASE_URL": "http://ckbiz.test"})
    def sent():
        return set(Invoice.select(Invoice.token, Invoice.number, Invoice.merchant).tuples())

    with app.app_context(), db.connection_context():
        before = sent()
    # The released code numbered 1 … 9 across both merchants; each keeps the numbers it sent.
    assert sorted(number for _, number, _ in before) == list(range(1, 10))
    with app.app_context():
        database.migrate(db)
    with app.app_context(), db.connection_context():
        assert sent() == before
        owners = {u.phone: u.role for u in User.select()}
        assert owners == {"9000000000": "owner", "9000000001": "owner"}
        for merchant in Merchant.select():
            highest = max(i.number for i in Invoice.select().where(Invoice.merchant == merchant))
            assert merchant.last_invoice_number == highest
        assert UserSession.select().count() == 2  # each released login's sessions, now one row each

    # The session cookie the released code gave its owner still opens the cabinet.
    browser = app.test_client()
    browser.set_cookie("session", cookie)
    assert browser.get("/invoices").status_code == 200
    # And the password still logs in.
    assert AuthActions(app.test_client()).login("9000000000", PASSWORD).status_code == 303
    assert AuthActions(app.test_client()).login("9000000001", PASSWORD).status_code == 303


def test_no_index_repeats_the_first_columns_of_another(app):
    """Each index a write updates earns its place: none is only the start of a longer one, which
    serves the same lookups (0014 dropped eight such)."""
    repeated = []
    with db.connection_context():
        for table in db.get_tables():
            indexes = [i for i in db.get_indexes(table) if "WHERE" not in i.sql.upper()]
            for short in indexes:
                for long in indexes:
                    if (short is not long and not short.unique
                            and long.columns[:len(short.columns)] == short.columns):
                        repeated.append(f"{short.name} (within {long.name})")
    assert repeated == []
