"""Demo data: the manual's merchant and services, and bulk invoices for load tests."""
import json
import random
import secrets
from contextlib import contextmanager
from datetime import timedelta

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


def ensure_invoices(merchants, total, rng=None):
    """Top the merchants' invoices up to `total`, with bulk inserts; returns how many were added."""
    rng = rng or random.Random(20161014)
    missing = total - Invoice.select().where(Invoice.merchant.in_(merchants)).count()
    if missing <= 0:
        return 0
    services = {m.id: list(Service.of(m)) for m in merchants}
    snapshots = {s.id: snapshot(s) for group in services.values() for s in group}
    # Every invoice of a service carries the same copy: serialise it once.
    frozen = {sid: json.dumps(value, ensure_ascii=False) for sid, value in snapshots.items()}
    start = (Invoice.select(Invoice.id).order_by(Invoice.id.desc()).scalar() or 0) + 1
    numbers = dict(Merchant.select(Merchant.id, Merchant.last_invoice_number)
                   .where(Merchant.id.in_(merchants)).tuples())
    now = utcnow()
    with db.atomic(), _indexes_built_after(("invoice", "invoice_event"), missing >= BULK):
        for chunk_start in range(0, missing, 5000):
            count = min(5000, missing - chunk_start)
            invoices, events = [], []
            for i in range(count):
                row_id = start + chunk_start + i
                merchant = merchants[row_id % len(merchants)]
                service = services[merchant.id][row_id % len(services[merchant.id])]
                numbers[merchant.id] += 1
                invoice, invoice_events = _fake_invoice(rng, (row_id, numbers[merchant.id]), merchant, service,
                                                        snapshots[service.id]["commission"],
                                                        frozen[service.id], now)
                invoices.append(invoice)
                events.extend(invoice_events)
            _bulk_insert("invoice", INVOICE_COLUMNS, invoices)
            _bulk_insert("invoice_event", EVENT_COLUMNS, events)
        for merchant_id, last in numbers.items():
            Merchant.update(last_invoice_number=last).where(Merchant.id == merchant_id).execute()
    if not is_sqlite(db):
        db.execute_sql("SELECT setval(pg_get_serial_sequence('invoice', 'id'), (SELECT max(id) FROM invoice))")
    return missing


# From this many new invoices on, the secondary indexes are dropped for the load and
# built afterwards: sorting a million keys once is several times faster than a million
# inserts at random places of B-trees that no longer fit the cache.
BULK = 50_000


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


def _fake_invoice(rng, ids, merchant, service, rule, issued_with, now):
    """One realistic invoice row and its event rows, as the database stores them; ids are the
    row's (internal id, merchant's number)."""
    row_id, number = ids
    status = STATUSES[rng.randrange(len(STATUSES))]
    age = timedelta(minutes=rng.randrange(1, 60 * 24 * 365))
    if status == "issued":
        age = timedelta(minutes=rng.randrange(1, 60 * 24 * 3))
    issued_at = now - age
    expires_at = issued_at + timedelta(hours=72)
    amount = rng.randrange(100, 5_000_000)
    key = str(rng.randrange(10_000_000, 99_999_999))
    requisites = [{"name": f["name"], "label": f["label"], "key": f["key"],
                   "value": key if f["key"] else _fake_value(rng, f["kind"], issued_at)}
                  for f in service.fields]
    phone = f"9{rng.randrange(10**8, 10**9)}" if rng.random() < 0.8 else None
    email = f"payer{row_id}@example.com" if phone is None or rng.random() < 0.6 else None
    changed = issued_at
    paid_at = paid_by = None
    events = [(row_id, "issued", issued_at)]
    if status in ("paid", "transferred"):
        changed = paid_at = issued_at + timedelta(minutes=rng.randrange(1, 60 * 48))
        paid_by = "card" if status == "transferred" or rng.random() < 0.7 else "other"
        events.append((row_id, "paid", paid_at))
        if status == "transferred":
            changed = paid_at + timedelta(days=1)
            events.append((row_id, "transferred", changed))
    elif status in ("expired", "cancelled"):
        changed = expires_at if status == "expired" else issued_at + timedelta(hours=1)
        events.append((row_id, status, changed))
    row = (row_id, number, secrets.token_urlsafe(24), merchant.id, service.id, phone, email,
           json.dumps(requisites, ensure_ascii=False), service.fields[0]["label"], key, "",
           amount, money.commission(amount, rule["bp"], rule["min_kop"], rule["max_kop"]),
           issued_with, _text(issued_at), _text(expires_at), status, _text(paid_at), paid_by, _text(changed))
    return row, [(n, kind, _text(at), "") for n, kind, at in events]


def _fake_value(rng, kind, issued_at):
    """A plausible value for a requisite field of this kind."""
    if kind == "month":
        return issued_at.strftime("%m.%Y")
    if kind == "digits":
        return str(rng.randrange(1000, 999999))
    if kind == "phone":
        return f"9{rng.randrange(10**8, 10**9)}"
    return f"{rng.choice(NAMES)}, {rng.choice(STREETS)}, {rng.randrange(1, 120)}"


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
