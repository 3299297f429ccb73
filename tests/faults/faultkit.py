"""Shared pieces of the fault tests: a browser for a real web process, a scriptable SMTP
server, the queue each test runs on, and reading the outbox as the merchant sees it."""
import asyncio
import email
import html
import http.cookiejar
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email import policy

import pytest

from ckbiz.extensions import db, make_huey
from ckbiz.models import Delivery, Service
from conftest import CSRF, PASSWORD, free_port

HUEY_URL = os.environ.get("CKBIZ_HUEY_URL", "")


@pytest.fixture
def queue(tmp_path):
    """This test's queue URL, empty at start and end: the run's Redis when it targets one
    (RedisHuey is what that run tests), else a SqliteHuey file of the test's own."""
    url = HUEY_URL if HUEY_URL.startswith("redis") else "sqlite:///" + str(tmp_path / "huey.db")
    flush_queues(url)
    yield url
    flush_queues(url)


def flush_queues(url):
    """Empty both queues (ordinary and urgent) in the storage at url."""
    for name in ("ckbiz", "ckbiz-urgent"):
        make_huey(url, name).flush()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.text = status, headers, body


class Browser:
    """A cookie-keeping HTTP client for a real web process; never follows redirects."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, path, data=None, headers=None, timeout=15):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Response(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.headers, exc.read().decode())

    def get(self, path):
        return self.request(path)

    def post(self, path, data):
        return self.request(path, data)

    def csrf(self, path):
        page = self.get(path)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status})"
        return html.unescape(match.group(1) or match.group(2))

    def login(self, phone="9161234567", password=PASSWORD):
        response = self.post("/login", {"phone": phone, "password": password, "csrf_token": self.csrf("/login")})
        assert response.status == 303, response.status
        return response

    def issue(self, service_id, email="payer@example.com", phone="", account="1001"):
        """POST the issue form; returns the response (303 to the invoice when issued)."""
        return self.post("/invoices", {
            "csrf_token": self.csrf("/invoices/new"), "service": str(service_id), "payer_email": email,
            "payer_phone": phone, "req-account": account, "req-fio": "Иванов", "validity_hours": "24",
            "amount": "10"})


def service_id(app, merchant):
    with app.app_context(), db.connection_context():
        return Service.of(merchant).first().id


def rows(app, **where):
    """Every outbox row (optionally filtered by field=value), oldest first."""
    with app.app_context(), db.connection_context():
        query = Delivery.select().order_by(Delivery.id)
        for field, value in where.items():
            query = query.where(getattr(Delivery, field) == value)
        return list(query)


def invoice_page(browser, number):
    """The merchant's invoice page, with its deliveries table."""
    page = browser.get(f"/invoices/{number}")
    assert page.status == 200
    return page.text


class ScriptedSmtp:
    """An aiosmtpd handler whose answer to each DATA follows a script, then accepts.

    Script items: "accept", "hang" (never answer while the client waits; give up after
    `hang_for` seconds) or an SMTP reply such as "451 4.3.0 try later". Every DATA is
    recorded in `seen`; only messages answered 250 are in `accepted`.
    """

    def __init__(self, script=(), hang_for=30):
        self.script = list(script)
        self.hang_for = hang_for
        self.rcpt_reply = None  # e.g. "550 5.1.1 no such mailbox" refuses every recipient
        self.seen = []
        self.seen_at = []
        self.accepted = []
        self.released = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.seen.append(message)
        self.seen_at.append(time.monotonic())
        action = self.script.pop(0) if self.script else "accept"
        if action == "hang":
            deadline = time.monotonic() + self.hang_for
            while not self.released.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return "451 4.3.0 gave up waiting"
        if action != "accept":
            return action
        self.accepted.append(message)
        return "250 OK"


class SmtpServer:
    """A real SMTP server on loopback running a ScriptedSmtp handler."""

    def __init__(self, handler, port=None):
        from aiosmtpd.controller import Controller

        self.handler = handler
        self.port = port or free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.handler.released.set()
        self.controller.stop()


def recipients(messages):
    return sorted(m["To"] for m in messages)


def message_ids(messages):
    return [m["Message-ID"] for m in messages]


def error_of(page):
    """The visible error notes of a deliveries table."""
    return [html.unescape(e) for e in re.findall(r'<small class="error">(.*?)</small>', page, re.S)]
