"""Background work against its floor: the expiry job against a raw UPDATE, the worker's
e-mail against smtplib on one connection into the same local SMTP server; and the time of
the «Счет на оплату» PDF (pages and the worker's attachments render it alike)."""
import email as email_parser
import multiprocessing
import os
import shutil
import smtplib
import sqlite3
import threading
import time
from decimal import Decimal
from email import policy

from aiosmtpd.controller import Controller

# ckbiz builds its queue object at import: point it at the queue the bench's worker
# reads before anything imports ckbiz (tests/live.py does), so the e-mails queued here are
# the ones that worker sends.
QUEUE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".data", "queue.db")
os.makedirs(os.path.dirname(QUEUE), exist_ok=True)
os.environ["CKBIZ_HUEY_URL"] = f"sqlite:///{QUEUE}"

from live import environment, flask, wait_for, worker  # noqa: E402
from ckbiz import create_app, documents, tasks  # noqa: E402
from ckbiz.database import utcnow  # noqa: E402
from ckbiz.delivery.mail import envelope_sender  # noqa: E402
from ckbiz.delivery.messages import email  # noqa: E402
from ckbiz.domain import lifecycle  # noqa: E402
from ckbiz.domain.positions import line_amount  # noqa: E402
from ckbiz.domain.outbox import add  # noqa: E402
from ckbiz.extensions import db, huey  # noqa: E402
from ckbiz.models import Delivery, Invoice, Merchant  # noqa: E402


def prepared(folder, invoices):
    """A database of one demo merchant with `invoices` invoices, built once and kept.

    A kept one is migrated all the same, as run.py's are: one built before a schema
    change would fail the jobs (a database from before 0004 has no invoice.id).
    """
    os.makedirs(folder, exist_ok=True)
    env = environment(folder, f"sqlite:///{folder}/ckbiz.db", "")
    flask(env, "init-db")
    if not os.path.exists(f"{folder}/ready"):
        flask(env, "demo", "--password", "bench password", "--merchants", "1", "--invoices", str(invoices))
        open(f"{folder}/ready", "w").close()
    return env


def _copy_database(source, target):
    """A consistent copy through SQLite's backup API (a file copy would miss the WAL)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(target + suffix):
            os.remove(target + suffix)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _app(env, database):
    """ckbiz in this process, on `database` (a copy of the prepared one)."""
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["CKBIZ_DATABASE_URL"] = f"sqlite:///{database}"
    try:
        return create_app()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def expiry(folder, due):
    """Seconds for ckbiz's expiry job and for a raw UPDATE (plus events), each on `due` overdue invoices."""
    env = prepared(folder, due)
    source = f"{folder}/ckbiz.db"
    with sqlite3.connect(source) as conn:
        conn.execute("UPDATE invoice SET status = 'issued', expires_at = '2000-01-01 00:00:00'")
    conn.close()
    timings = []
    for name, run in (("ours", _expire_ours), ("raw", _expire_raw)):
        copy = f"{folder}/{name}.db"
        _copy_database(source, copy)
        took, moved = run(env, copy)
        timings.append(took)
        if moved != due:
            raise SystemExit(f"expiry ({name}) moved {moved} of {due}")
    return tuple(timings)


def _expire_ours(env, copy):
    with _app(env, copy).app_context(), db.connection_context():
        started = time.perf_counter()
        moved = lifecycle.expire_overdue()
        return time.perf_counter() - started, moved


def _expire_raw(env, copy):
    conn = sqlite3.connect(copy, isolation_level=None)
    started = time.perf_counter()
    now = utcnow().isoformat(" ")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO invoice_event (invoice_id, kind, at, note) SELECT id, 'expired', ?, '' "
                 "FROM invoice WHERE status = 'issued' AND expires_at <= ?", (now, now))
    moved = conn.execute("UPDATE invoice SET status = 'expired', status_changed_at = ? "
                         "WHERE status = 'issued' AND expires_at <= ?", (now, now)).rowcount
    conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took, moved


def invoice_pdfs(folder, count, sizes=(1, 15)):
    """Milliseconds of the first PDF (it makes the fonts' copy in a fresh instance), and {positions: [(wall, CPU)
    milliseconds per PDF]} for `count` different invoices at each size, rendered in this process.

    CPU time is the measure that holds on a shared machine: wall time there is mostly waiting.
    """
    env = prepared(folder, count)
    shutil.rmtree(os.path.join(folder, "fonts"), ignore_errors=True)  # the first PDF makes them again
    with _app(env, f"{folder}/ckbiz.db").app_context(), db.connection_context():
        invoices = list(Invoice.select(Invoice, Merchant).join(Merchant).order_by(Invoice.id).limit(count))
        first, _ = _render_ms(invoices[0])
        timings = {}
        for size in sizes:
            for invoice in invoices:  # in memory only: the database is left as it was
                invoice.positions = [_position(n) for n in range(1, size + 1)]
                invoice.amount_kop = sum(p["amount_kop"] for p in invoice.positions)
            timings[size] = [_render_ms(invoice) for invoice in invoices]
    return first, timings


def _position(n):
    """A stored position with a name long enough to wrap every third line, as real ones do."""
    name = f"Позиция {n}" + (", работы по договору оказания услуг с длинным наименованием" if n % 3 == 0 else "")
    return {"name": name, "quantity": "1.5", "unit": "шт.", "price_kop": 123456 + n, "vat": "20",
            "amount_kop": line_amount(Decimal("1.5"), 123456 + n)}


def _render_ms(invoice):
    """(wall, CPU) milliseconds of one PDF."""
    wall, cpu = time.perf_counter(), time.process_time()
    data = documents.invoice_pdf(invoice)
    took = ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
    if not data.startswith(b"%PDF-"):
        raise SystemExit("invoice_pdf: not a PDF")
    return took


class Counter:
    """An aiosmtpd handler that counts messages and notes when the first and last came.

    A storing server parses each message as a mail store would (and as the tests'
    recorder does); a sink only counts. The first makes the server part of the cost,
    the second shows the clients' ceiling.
    """

    def __init__(self, store):
        self.store, self.stored = store, []
        self.count, self.first, self.last = 0, None, None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.store:
            self.stored.append(email_parser.message_from_bytes(envelope.content, policy=policy.default))
        with self.lock:
            self.count += 1
            self.last = time.perf_counter()
            self.first = self.first or self.last
        return "250 OK"


def deliveries(folder, messages, port, store):
    """Messages/s: ckbiz's worker sending `messages` queued invoice e-mails, and smtplib sending
    the same message on one connection, into one local aiosmtpd server (storing or a sink)."""
    env = prepared(folder, messages)
    copy = f"{folder}/deliveries.db"
    _copy_database(f"{folder}/ckbiz.db", copy)
    env = {**env, "CKBIZ_DATABASE_URL": f"sqlite:///{copy}", "CKBIZ_HUEY_URL": f"sqlite:///{QUEUE}",
           "CKBIZ_MAIL_SERVER": "127.0.0.1", "CKBIZ_MAIL_PORT": str(port)}
    huey.flush()
    app = _app(env, copy)
    with app.app_context(), db.connection_context():
        merchant = Merchant.select().first()
        with db.atomic():
            rows = [add(merchant.id, invoice_id, "email", "invoice", f"payer{invoice_id}@example.com")
                    for invoice_id, in Invoice.select(Invoice.id).where(Invoice.merchant == merchant)
                    .limit(messages).tuples()]
        tasks.send(rows)  # as the app queues them: in tasks of tasks.BATCH
        sample = email(rows[0], Invoice.get_by_id(rows[0].invoice_id))
        sample = (envelope_sender(sample), sample.as_bytes())  # what smtplib resends
    rates = []
    for send in (_worker_sends, _smtplib_sends):
        counter = Counter(store)
        server = Controller(counter, hostname="127.0.0.1", port=port)
        server.start()
        try:
            send(env, folder, sample, messages, port, counter)
        finally:
            server.stop()
        if counter.count != messages:
            raise SystemExit(f"deliveries: {counter.count} messages arrived of {messages}")
        rates.append((counter.count - 1) / (counter.last - counter.first))
    with app.app_context(), db.connection_context():
        sent = Delivery.select().where(Delivery.state == "sent").count()
    if sent != messages:
        raise SystemExit(f"deliveries: {sent} rows sent of {messages}")
    return tuple(rates)


def _worker_sends(env, folder, sample, messages, port, counter):
    with worker(env, f"{folder}/worker.log", "--no-periodic"):
        wait_for(lambda: counter.count >= messages, timeout=messages / 20 + 60, what="the worker's e-mails")


def _smtplib_sends(env, folder, sample, messages, port, counter):
    # In a process of its own, like the worker, so it does not share a GIL with the server.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        sender, data = sample
        pool.apply(_smtplib_rate, (port, sender, data, messages))


def _smtplib_rate(port, sender, data, messages):
    """stdlib smtplib sending the message `messages` times on one connection."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for i in range(messages):
            smtp.sendmail(sender, [f"payer{i}@example.com"], data)
