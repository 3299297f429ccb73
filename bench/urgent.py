"""Payments ahead of mail: from the card form's POST to the payer's paid page, while thousands of
invoice e-mails drain through the same worker (the requirement: p99 ≤ 2 s while 10,000 drain).

Real processes on loopback: gunicorn as deployed (the checkout's gunicorn.conf.py: 2 gthread
workers of 32 threads; web.gunicorn's `--worker-class sync` becomes gthread as well, since that
file sets `threads`), one `flask worker` (its default 2 ordinary and 2 urgent threads,
--no-periodic as in jobs.deliveries) on a SQLite database of one demo merchant with an address
for «оплачен» notices and the SQLite queue jobs.QUEUE, and one storing aiosmtpd in a process of its
own (no GIL shared with the payers here) that notes when each message came, with its Message-ID,
Subject and To.

Payments are made as a payer makes them, each with a session of its own: the payer page, its pay
form (303 to the demo card form), the card form with a valid test card; from that POST, which
queues the demo gateway's notification on the urgent queue, the result page is asked every 50 ms
until it says paid, and the merchant's «оплачен» e-mail is looked for at the SMTP server. One
payment starts every 0.4 s, each on a thread of its own, whatever the others' progress.

First the payments with the queue idle (the baseline); then the worker is stopped, the invoice
e-mails are written as the app writes them (outbox rows in a transaction, then `tasks.send`),
the worker starts again and, once the mail flows, the same number of payments on other invoices.
The run fails if a payment does not end paid, if any e-mail is lost, or if fewer than a tenth of
the invoice e-mails were still queued when the last payment was paid and noticed: then the
measure would not have been "while they drain".

Each run works on a fresh copy of a kept database: the invoices paid here are issued ones of the
demo data, given a fresh validity (demo's issued invoices expire 72 hours after it built them).
"""
import email as email_parser
import multiprocessing
import os
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email import policy
from typing import NamedTuple
from urllib.parse import urljoin

import requests
from aiosmtpd.controller import Controller
from peewee import JOIN

from jobs import QUEUE, _app, _copy_database, prepared  # jobs points ckbiz's queues at QUEUE
from live import wait_for, web as gunicorn_web, worker
from web import free_port

from ckbiz import tasks
from ckbiz.database import utcnow
from ckbiz.domain.outbox import add
from ckbiz.extensions import QUEUES, db
from ckbiz.models import Delivery, Invoice, Merchant

SHOP = "shop@example.com"  # «Эл. адрес для уведомлений об оплате» of the demo merchant
CARD = {"number": "4242 4242 4242 4242", "expiry": "12/40", "cvc": "123", "holder": "IVAN IVANOV"}
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
INTERVAL = 0.4  # seconds between the payments' starts
POLL = 0.05  # seconds between the result page's requests
WARM_UP = 2  # unmeasured payments before each phase's: the first request of a process is not the requirement
STILL_QUEUED = 0.1  # the least share of the invoice e-mails still queued when the last payment was done


class Latency(NamedTuple):
    """Seconds from the card form's POST, over the payments of one phase."""

    p50: float
    p99: float
    worst: float


class Phase(NamedTuple):
    paid: Latency  # until the result page says paid
    notice: Latency  # until the merchant's «оплачен» e-mail is at the SMTP server


class Result(NamedTuple):
    idle: Phase  # the queue empty
    draining: Phase  # the invoice e-mails draining meanwhile
    at_start: int  # invoice e-mails at the server when the first measured payment's card form was posted
    at_end: int  # … when the last measured payment was paid and its notice had come
    rate: float  # the invoice e-mails' rate at the server, msg/s, from the first to the last


def payments_while_mail_drains(folder, emails, payments, port):
    """`payments` card payments with the queue idle, then as many while `emails` queued invoice
    e-mails drain; the SMTP server listens on `port`. Returns a Result; SystemExit on a payment
    not paid, an e-mail lost, or a backlog drained before the payments ended."""
    invoices = max(emails, 10_000)  # demo issues a third: enough for both phases at 50 payments
    env = prepared(os.path.join(folder, str(invoices)), invoices)
    copy = os.path.join(folder, "urgent.db")
    _copy_database(os.path.join(folder, str(invoices), "ckbiz.db"), copy)
    web_port = free_port()
    env = {**env, "CKBIZ_DATABASE_URL": f"sqlite:///{copy}", "CKBIZ_HUEY_URL": f"sqlite:///{QUEUE}",
           "CKBIZ_MAIL_SERVER": "127.0.0.1", "CKBIZ_MAIL_PORT": str(port),
           "CKBIZ_BASE_URL": f"http://127.0.0.1:{web_port}"}
    for queue in QUEUES:
        queue.flush()
    app = _app(env, copy)
    with app.app_context(), db.connection_context():
        merchant = Merchant.select().get()
        Merchant.update(email=SHOP).where(Merchant.id == merchant.id).execute()
        paying = _payable(merchant, 2 * (payments + WARM_UP))
    idle_invoices, draining_invoices = paying[:payments + WARM_UP], paying[payments + WARM_UP:]
    base = f"http://127.0.0.1:{web_port}"
    with MailLog(port) as mail, gunicorn_web(env, web_port, os.path.join(folder, "web.log"), workers=2):
        with worker(env, os.path.join(folder, "worker.log"), "--no-periodic"):
            idle = _payments(base, idle_invoices)
            _all_came(app, mail, 30)  # the notices, before the worker stops
        with app.app_context(), db.connection_context():
            queued = _queue_invoice_emails(merchant, emails)
        before, started = mail.count(), time.monotonic()
        with worker(env, os.path.join(folder, "worker.log"), "--no-periodic"):
            first = min(200, emails // 20 + 1)
            wait_for(lambda: mail.count() - before >= first, timeout=60, what="the first invoice e-mails")
            print(f"urgent: {mail.count() - before} invoice e-mails in {time.monotonic() - started:.1f} s after the "
                  f"worker started; paying now", flush=True)
            draining = _payments(base, draining_invoices)
            _all_came(app, mail, emails / 20 + 60)
            time.sleep(1)  # one that would come twice
        arrived = mail.arrived()
    with app.app_context(), db.connection_context():
        kinds = _check_every_email(arrived, paying, queued)
    return _result(arrived, kinds, idle, draining, emails)


def _all_came(app, mail, timeout):
    """Wait until as many messages came as there are e-mail rows."""
    with app.app_context(), db.connection_context():
        expected = Delivery.select().where(Delivery.channel == "email").count()
    wait_for(lambda: mail.count() >= expected, timeout=timeout, interval=0.2,
             what=f"all {expected} e-mails at the server")


def _payable(merchant, count):
    """(number, token) of `count` issued invoices of the merchant, given a fresh validity."""
    chosen = list(Invoice.select(Invoice.id, Invoice.number, Invoice.token)
                  .where(Invoice.merchant == merchant, Invoice.status == "issued")
                  .order_by(Invoice.id.desc()).limit(count))
    if len(chosen) < count:
        raise SystemExit(f"urgent: {len(chosen)} issued invoices, {count} needed (a larger --emails builds more)")
    Invoice.update(expires_at=utcnow() + timedelta(hours=72)).where(Invoice.id.in_([i.id for i in chosen])).execute()
    return [(invoice.number, invoice.token) for invoice in chosen]


def _queue_invoice_emails(merchant, count):
    """Invoice e-mails to `count` invoices' payers, written and queued as the app does; their ids."""
    with db.atomic():
        rows = [add(merchant.id, invoice_id, "email", "invoice", f"payer{invoice_id}@example.com")
                for invoice_id, in Invoice.select(Invoice.id).where(Invoice.merchant == merchant)
                .order_by(Invoice.id).limit(count).tuples()]
    started = time.perf_counter()
    tasks.send(rows)
    print(f"urgent: {len(rows):,} invoice e-mails queued in {time.perf_counter() - started:.1f} s", flush=True)
    return {row.id for row in rows}


def _payments(base, invoices):
    """Pay the invoices, WARM_UP of them one after another unmeasured, then one starting every
    INTERVAL; [(number, card form posted, result page said paid)] of the measured ones (monotonic)."""
    for number, token in invoices[:WARM_UP]:
        _pay(base, number, token)
    measured = invoices[WARM_UP:]
    with ThreadPoolExecutor(max_workers=16) as pool:
        start = time.monotonic()
        futures = [pool.submit(_pay, base, number, token, start + i * INTERVAL)
                   for i, (number, token) in enumerate(measured)]
        return [future.result() for future in futures]


def _pay(base, number, token, at=None):
    """One payer: the invoice page, «Оплатить банковской картой», the card form; then the result
    page every POLL seconds until it says paid. (number, posted, paid), monotonic seconds."""
    if at is not None:
        time.sleep(max(0.0, at - time.monotonic()))
    with requests.Session() as session:
        page = _ok(session.get(f"{base}/i/{token}", timeout=10))
        moved = _ok(session.post(f"{base}/i/{token}/pay", data={"csrf_token": _csrf(page)}, timeout=10,
                                 allow_redirects=False), 303)
        form_url = urljoin(base, moved.headers["Location"])
        form = _ok(session.get(form_url, timeout=10))
        posted = time.monotonic()
        _ok(session.post(form_url, data={"csrf_token": _csrf(form), **CARD}, timeout=10, allow_redirects=False), 303)
        while True:
            result = _ok(session.get(form_url, timeout=10)).text
            if "Оплата прошла" in result:
                paid = time.monotonic()
                break
            if "Ждем подтверждения банка" not in result:
                raise SystemExit(f"urgent: invoice {number}'s result page says neither paid nor waiting:\n{result}")
            if time.monotonic() - posted > 30:
                raise SystemExit(f"urgent: invoice {number} not paid 30 s after the card form")
            time.sleep(POLL)
        if "Счет оплачен" not in _ok(session.get(f"{base}/i/{token}", timeout=10)).text:
            raise SystemExit(f"urgent: invoice {number}'s payer page does not say paid")
    return number, posted, paid


def _ok(response, status=200):
    if response.status_code != status:
        raise SystemExit(f"urgent: {response.request.method} {response.url}: {response.status_code}, "
                         f"not {status}\n{response.text[:2000]}")
    return response


def _csrf(response):
    match = CSRF.search(response.text)
    if not match:
        raise SystemExit(f"urgent: no CSRF token on {response.url}")
    return match.group(1)


def _check_every_email(arrived, paying, queued):
    """Every e-mail row sent and at the server once, each invoice paid; {Message-ID: (kind, invoice
    number)} of what came."""
    rows = {message_id: (kind, number, state) for message_id, kind, number, state in
            Delivery.select(Delivery.message_id, Delivery.kind, Invoice.number, Delivery.state)
            .join(Invoice, JOIN.LEFT_OUTER).where(Delivery.channel == "email").tuples()}
    came = [message_id for _at, message_id, _to, _subject in arrived]
    lost = set(rows) - set(came)
    twice = len(came) - len(set(came))
    strangers = set(came) - set(rows)
    unsent = [m for m, (_kind, _number, state) in rows.items() if state != "sent"]
    if lost or twice or strangers or unsent:
        raise SystemExit(f"urgent: of {len(rows)} e-mail rows, {len(lost)} never came, {twice} came twice, "
                         f"{len(strangers)} unknown came, {len(unsent)} not marked sent")
    if sum(kind == "invoice" for kind, _number, _state in rows.values()) != len(queued):
        raise SystemExit("urgent: the invoice e-mails written are not those queued")
    numbers = [number for number, _token in paying]
    paid = Invoice.select().where(Invoice.number.in_(numbers), Invoice.status == "paid").count()
    if paid != len(numbers):
        raise SystemExit(f"urgent: {paid} of the {len(numbers)} invoices paid")
    return {message_id: (kind, number) for message_id, (kind, number, _state) in rows.items()}


def _result(arrived, kinds, idle, draining, emails):
    notices = {kinds[message_id][1]: at for at, message_id, _to, subject in arrived
               if kinds[message_id][0] == "paid_notice"}
    if not all(subject.endswith("оплачен") for at, message_id, _to, subject in arrived
               if kinds[message_id][0] == "paid_notice"):
        raise SystemExit("urgent: a paid notice without «оплачен» in its subject")
    invoice_mail = sorted(at for at, message_id, _to, _subject in arrived if kinds[message_id][0] == "invoice")
    first_posted = min(posted for _number, posted, _paid in draining)
    last_done = max(max(paid, notices[number]) for number, _posted, paid in draining)
    at_start = sum(at <= first_posted for at in invoice_mail)
    at_end = sum(at <= last_done for at in invoice_mail)
    print(f"urgent: {at_start:,} of {emails:,} invoice e-mails had come when the first measured payment was "
          f"posted, {at_end:,} when the last was paid and noticed ({last_done - first_posted:.1f} s later); "
          f"the last invoice e-mail came {invoice_mail[-1] - last_done:.1f} s after that", flush=True)
    if at_end > (1 - STILL_QUEUED) * emails:
        raise SystemExit(f"urgent: only {emails - at_end:,} of {emails:,} invoice e-mails were still queued when "
                         f"the payments ended: not measured while mail drains (more --emails or fewer --payments)")
    rate = (len(invoice_mail) - 1) / (invoice_mail[-1] - invoice_mail[0])
    return Result(_phase(idle, notices), _phase(draining, notices), at_start, at_end, rate)


def _phase(payments, notices):
    paid = [paid - posted for _number, posted, paid in payments]
    noticed = [notices[number] - posted for number, posted, _paid in payments]
    return Phase(_latency(paid), _latency(noticed))


def _latency(seconds):
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return Latency(cuts[49], cuts[98], max(seconds))


class MailLog:
    """A storing aiosmtpd on 127.0.0.1:port in a process of its own; `arrived()` is [(monotonic
    time, Message-ID, To, Subject)] of every message so far (CLOCK_MONOTONIC is the system's, so
    its times compare with this process's)."""

    def __init__(self, port):
        context = multiprocessing.get_context("fork")
        self.events, self.stop = context.Queue(), context.Event()
        self.process = context.Process(target=_serve_mail, args=(port, self.events, self.stop), daemon=True)
        self._arrived, self.lock = [], threading.Lock()

    def __enter__(self):
        self.process.start()
        if self.events.get(timeout=30) != "ready":
            raise SystemExit("urgent: the SMTP server did not start")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        while (event := self.events.get()) is not None:
            with self.lock:
                self._arrived.append(event)

    def count(self):
        with self.lock:
            return len(self._arrived)

    def arrived(self):
        with self.lock:
            return list(self._arrived)

    def __exit__(self, *exc):
        self.stop.set()
        self.process.join(30)
        self.events.put(None)  # after everything the server put: it has exited
        self.reader.join(30)


class _Recorder:
    """Parses and keeps each message, as a mail store (or jobs.Counter(store=True)) does."""

    def __init__(self, events):
        self.events, self.stored = events, []

    async def handle_DATA(self, server, session, envelope):
        at = time.monotonic()
        message = email_parser.message_from_bytes(envelope.content, policy=policy.default)
        self.stored.append(message)
        self.events.put((at, str(message["Message-ID"]), ",".join(envelope.rcpt_tos), str(message["Subject"])))
        return "250 OK"


def _serve_mail(port, events, stop):
    controller = Controller(_Recorder(events), hostname="127.0.0.1", port=port)
    controller.start()
    events.put("ready")
    stop.wait()
    controller.stop()
