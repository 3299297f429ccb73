"""Demo data: the manual's merchant and services, and bulk invoices for load tests."""
import base64
import json
import multiprocessing
import os
import random
import secrets
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from json.encoder import encode_basestring

from peewee import OperationalError
from psycopg2.extras import execute_values

from . import tasks
from .database import is_sqlite, utcnow
from .domain import accounts, catalog, money
from .domain.invoicing import snapshot
from .extensions import db
from .models import Invoice, Merchant, Service

DEMO_SERVICES = (
    {
        "organisation": {
            "name": "Демо-организация", "inn": "7701000001", "kpp": "770101001",
            "account": "40702810200000012345", "bik": "044525225", "bank_name": "ПАО Сбербанк",
            "corr_account": "30101810400000000225", "recipient": "Демо-организация",
        },
        "service": {
            "display_name": "Демо ПА", "title": "демо-услуга", "category": "Прочие",
            "commission": {"percent": "1.5"},
            "fields": [
                {"name": "account", "label": "ЛИЦ. СЧЕТ", "kind": "digits", "required": True, "key": True},
                {"name": "fio", "label": "ФИО", "kind": "text", "required": True},
                {"name": "address", "label": "АДРЕС", "kind": "text"},
                {"name": "month", "label": "МЕСЯЦ ММ.ГГГГ", "kind": "month"},
            ],
        },
    },
    {
        "organisation": {
            "name": "ООО «Пермская доставка»", "inn": "5904000003", "kpp": "590401001",
            "account": "40702810900000000042", "bik": "045773603",
            "bank_name": "Западно-Уральский банк ПАО Сбербанк",
            "corr_account": "30101810900000000603", "recipient": "ООО «Пермская доставка»",
        },
        "service": {
            "display_name": "Доставка", "title": "доставка заказов", "category": "Торговля",
            "commission": {"percent": "2", "min": "10.00", "max": "500.00"},
            "fields": [
                {"name": "order", "label": "НОМЕР ЗАКАЗА", "kind": "digits", "required": True, "key": True},
                {"name": "phone", "label": "ТЕЛЕФОН ПОЛУЧАТЕЛЯ", "kind": "phone"},
            ],
        },
    },
)
STATUSES = ("issued", "issued", "issued", "paid", "paid", "transferred", "transferred",
            "expired", "expired", "cancelled")
NAMES = ("Иванов Иван", "Петрова Анна", "Сидоров Пётр", "Кузнецова Мария", "Смирнов Олег",
         "Попова Елена", "Волков Артём", "Соколова Дарья")
STREETS = ("ул. Ленина", "ул. Мира", "пр. Комсомольский", "ул. Пушкина", "ул. Садовая")


def ensure_merchant(phone, password=None, email=None, name="Демо-магазин"):
    """The merchant whose user has this phone, created (with that user as its owner) and given
    the demo services if new.

    A password given again unchanged changes nothing (its sessions stay); a new one is
    set, ending them, and the merchant is told by e-mail. Returns (merchant, password made
    up here or None).
    """
    user = accounts.user_by_phone(phone)
    made_up = None
    if user is None:
        made_up = None if password else secrets.token_urlsafe(9)
        user = accounts.create_merchant(phone, password or made_up, name, email)
    elif password and not accounts.is_password(user, password):
        tasks.send(accounts.set_password(user, password))
    merchant = user.merchant
    if not Service.of(merchant).exists():
        for spec in DEMO_SERVICES:
            catalog.add_service(merchant, spec)
    return merchant, made_up


def ensure_invoices(merchants, total):
    """Top the merchants' invoices up to `total`, with bulk inserts; returns how many were added."""
    missing = total - Invoice.select().where(Invoice.merchant.in_(merchants)).count()
    if missing <= 0:
        return 0
    start = (Invoice.select(Invoice.id).order_by(Invoice.id.desc()).scalar() or 0) + 1
    last = dict(Merchant.select(Merchant.id, Merchant.last_invoice_number)
                .where(Merchant.id.in_(merchants)).tuples())
    maker = _RowMaker({m.id: [_FakeService(s) for s in Service.of(m)] for m in merchants}, utcnow())
    # Each chunk with the merchants' last numbers before it, so that any process can make it.
    chunks = [(first, min(CHUNK, start + missing - first), maker.numbers(last, start, first))
              for first in range(start, start + missing, CHUNK)]
    bulk = missing >= BULK
    with _bulk_load(bulk), db.atomic(), _indexes_built_after(("invoice", "invoice_event"), bulk), \
            _made_ahead(bulk) as made:
        for invoices, events in made(maker.rows, chunks):
            _bulk_insert("invoice", INVOICE_COLUMNS, invoices)
            _bulk_insert("invoice_event", EVENT_COLUMNS, events)
        for merchant_id, number in maker.numbers(last, start, start + missing).items():
            Merchant.update(last_invoice_number=number).where(Merchant.id == merchant_id).execute()
    if not is_sqlite(db):
        db.execute_sql("SELECT setval(pg_get_serial_sequence('invoice', 'id'), (SELECT max(id) FROM invoice))")
    return missing


# From this many new invoices on, the secondary indexes are dropped for the load and
# built afterwards (sorting a million keys once is several times faster than a million
# inserts at random places of B-trees that no longer fit the cache), and the rows are made
# by other processes while this one inserts (MAKERS).
BULK = 50_000
CHUNK = 5000


@contextmanager
def _made_ahead(bulk):
    """A map(fn, argument tuples) that yields in order; in bulk, computed by MAKERS processes a
    few calls ahead of the caller (Executor.map would run ahead over the whole load, in memory)."""
    if not bulk:
        yield lambda fn, calls: (fn(*args) for args in calls)
        return

    def made(fn, calls):
        pending = deque()
        for args in calls:
            pending.append(pool.submit(fn, *args))
            if len(pending) > MAKERS + 1:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    with ProcessPoolExecutor(MAKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield made


# A process makes (and pickles) a million rows in about 11 s, this one unpickles and inserts them
# in about 9: two makers keep it busy, and more would only compete with it for the cores.
MAKERS = 2


class _RowMaker:
    """Made-up invoice rows for the merchants' services, row r for merchant r mod their count.

    Each chunk of rows draws from its own seeded generator, so a chunk comes out the same in
    whichever process makes it, and in whatever order.
    """

    def __init__(self, services, now):
        self.services = services
        self.ids = list(services)
        self.now = now

    def numbers(self, last, start, stop):
        """Each merchant's last invoice number once rows start .. stop - 1 are added to `last`."""
        n = len(self.ids)
        return {merchant_id: last[merchant_id] + len(range(start + (k - start) % n, stop, n))
                for k, merchant_id in enumerate(self.ids)}

    def rows(self, first, count, numbers):
        """Rows first .. first + count - 1 as (invoice rows, event rows), the merchants' last
        numbers before them being `numbers`."""
        rng = random.Random(SEED + first)
        numbers = dict(numbers)
        tokens = _tokens(count)
        invoices, events = [], []
        for i in range(count):
            row_id = first + i
            merchant_id = self.ids[row_id % len(self.ids)]
            group = self.services[merchant_id]
            numbers[merchant_id] += 1
            invoices.append(group[row_id % len(group)].invoice(rng, (row_id, numbers[merchant_id], merchant_id),
                                                               tokens[i], self.now, events))
        return invoices, events


SEED = 20161014


def _tokens(count):
    """`count` payer-link tokens, as models.new_token makes them: 24 random bytes, URL-safe base64.

    One urandom and one encoding per chunk: 24 bytes are 32 characters with no padding, so
    the encoding of the whole cuts into the encodings of each.
    """
    text = base64.urlsafe_b64encode(os.urandom(24 * count)).decode()
    return [text[i:i + 32] for i in range(0, 32 * count, 32)]


@contextmanager
def _bulk_load(bulk):
    """SQLite settings for loading a large batch in one transaction, put back afterwards.

    A rollback journal instead of the WAL: in WAL mode every new page is written twice, to
    the log and then to the database at the checkpoint, while pages appended to the file
    need no journal at all; the price is that readers wait for the commit too (the mode
    stays WAL when another connection has the database open). No fsync in between: the
    batch commits once. Building each index reads the whole table again, and through a
    memory map that costs half the CPU of read calls.
    """
    if not bulk or not is_sqlite(db):
        yield
        return
    saved = {name: db.execute_sql(f"PRAGMA {name}").fetchone()[0] for name in BULK_PRAGMAS}
    for name, value in BULK_PRAGMAS.items():
        try:
            db.execute_sql(f"PRAGMA {name} = {value}")
        except OperationalError:  # leaving WAL needs the only connection: "database is locked"
            pass
    try:
        yield
    finally:
        for name, value in saved.items():
            db.execute_sql(f"PRAGMA {name} = {value}")


BULK_PRAGMAS = {"journal_mode": "delete", "synchronous": 0, "mmap_size": 4 << 30}


@contextmanager
def _indexes_built_after(tables, bulk):
    """Drop the tables' secondary indexes (not primary keys or constraints) and rebuild them at the end."""
    if not bulk:
        yield
        return
    names = ", ".join(f"'{t}'" for t in tables)
    if is_sqlite(db):
        query = f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})"
    else:
        query = (f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                 f"AND tablename IN ({names}) AND indexname NOT IN (SELECT conname FROM pg_constraint)")
    indexes = db.execute_sql(query).fetchall()
    for name, _ in indexes:
        db.execute_sql(f'DROP INDEX "{name}"')
    yield
    for _, definition in indexes:
        db.execute_sql(definition)
    if not is_sqlite(db):
        # PostgreSQL plans from statistics, and a bulk load leaves them empty until autovacuum
        # gets round to it: a status filter over a million fresh rows took 200 ms, not 2.
        for table in tables:
            db.execute_sql(f"ANALYZE {table}")


class _FakeService:
    """One service's made-up invoices, with what every invoice of it shares worked out once."""

    def __init__(self, service):
        copy = snapshot(service)
        self.id = service.id
        self.rule = copy["commission"]
        self.issued_with = json.dumps(copy, ensure_ascii=False)
        self.key_label = service.fields[0]["label"]
        self.kinds = [None if f["key"] else f["kind"] for f in service.fields]
        # The requisites' JSON as json.dumps writes it, with a hole for each value: a value is
        # encoded on its own, and one formatting builds the text.
        placeholder = json.dumps("\0")
        fields = [{"name": f["name"], "label": f["label"], "key": f["key"], "value": "\0"} for f in service.fields]
        self.requisites = json.dumps(fields, ensure_ascii=False).replace("%", "%%").replace(placeholder, "%s")

    def invoice(self, rng, ids, token, now, events):
        """One invoice row as the database stores it, its events appended to `events`; ids are the
        row's (internal id, merchant's number, merchant's id)."""
        row_id, number, merchant_id = ids
        random = rng.random
        status = STATUSES[int(random() * len(STATUSES))]
        minutes = 1 + int(random() * ((3 if status == "issued" else 365) * MINUTES_A_DAY - 1))
        issued_at = now - timedelta(minutes=minutes)
        expires_at = issued_at + VALIDITY
        amount = 100 + int(random() * (5_000_000 - 100))
        key = str(10_000_000 + int(random() * 89_999_999))
        values = tuple(encode_basestring(key if kind is None else _fake_value(random, kind, issued_at))
                       for kind in self.kinds)
        phone = f"9{100_000_000 + int(random() * 900_000_000)}" if random() < 0.8 else None
        email = f"payer{row_id}@example.com" if phone is None or random() < 0.6 else None
        issued, expires = _text(issued_at), _text(expires_at)
        changed = issued
        paid = paid_by = None
        events.append((row_id, "issued", issued, ""))
        if status in ("paid", "transferred"):
            paid_at = issued_at + timedelta(minutes=1 + int(random() * (2 * MINUTES_A_DAY - 1)))
            changed = paid = _text(paid_at)
            paid_by = "card" if status == "transferred" or random() < 0.7 else "other"
            events.append((row_id, "paid", paid, ""))
            if status == "transferred":
                changed = _text(paid_at + timedelta(days=1))
                events.append((row_id, "transferred", changed, ""))
        elif status in ("expired", "cancelled"):
            changed = expires if status == "expired" else _text(issued_at + timedelta(hours=1))
            events.append((row_id, status, changed, ""))
        rule = self.rule
        return (row_id, number, token, merchant_id, self.id, phone, email, self.requisites % values,
                self.key_label, key, "", amount, money.commission(amount, rule["bp"], rule["min_kop"], rule["max_kop"]),
                self.issued_with, issued, expires, status, paid, paid_by, changed)


MINUTES_A_DAY = 24 * 60
VALIDITY = timedelta(hours=72)


def _fake_value(random, kind, issued_at):
    """A plausible value for a requisite field of this kind."""
    if kind == "month":
        return f"{issued_at.month:02d}.{issued_at.year}"
    if kind == "digits":
        return str(1000 + int(random() * (999_999 - 1000)))
    if kind == "phone":
        return f"9{100_000_000 + int(random() * 900_000_000)}"
    return (f"{NAMES[int(random() * len(NAMES))]}, {STREETS[int(random() * len(STREETS))]}, "
            f"{1 + int(random() * 119)}")


INVOICE_COLUMNS = (
    "id", "number", "token", "merchant_id", "service_id", "payer_phone", "payer_email", "requisites",
    "key_label", "key_value", "comment", "amount_kop", "commission_kop", "issued_with", "issued_at",
    "expires_at", "status", "paid_at", "paid_by", "status_changed_at",
)
EVENT_COLUMNS = ("invoice_id", "kind", "at", "note")


def _text(moment):
    """A datetime as the text peewee writes (both databases read it back as a timestamp)."""
    return moment.isoformat(" ") if moment else None


def _bulk_insert(table, columns, rows):
    """Insert many ready rows: one executemany on SQLite, multi-row VALUES pages on PostgreSQL."""
    names = ", ".join(columns)
    if is_sqlite(db):
        marks = ", ".join("?" * len(columns))
        db.cursor().executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
    else:
        execute_values(db.cursor(), f"INSERT INTO {table} ({names}) VALUES %s", rows, page_size=1000)
