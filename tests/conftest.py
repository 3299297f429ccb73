"""Fixtures in flaskr's shape: app, client, runner, auth; on SQLite or PostgreSQL.

CKBIZ_TEST_DATABASE_URL picks the database for the whole run (unset: a fresh
SQLite file per test). .ci/run runs the suite once each way.
"""
import ipaddress
import os
import re
import socket
import tempfile

# The queue object is built when ckbiz is imported: give it a throwaway folder first.
os.environ.setdefault("CKBIZ_INSTANCE_PATH", tempfile.mkdtemp(prefix="ckbiz-tests-"))

import pytest  # noqa: E402
import sms_gateway  # noqa: E402
from providers import SHOP_ID, TBANK_PASSWORD, TERMINAL_KEY, YOOKASSA_SECRET, FakeTBank, FakeYooKassa, running  # noqa: E402

from ckbiz import create_app, database  # noqa: E402
from ckbiz.domain import guards  # noqa: E402
from ckbiz.extensions import QUEUES, db  # noqa: E402
from ckbiz.models import MODELS  # noqa: E402

PG_URL = os.environ.get("CKBIZ_TEST_DATABASE_URL", "")
PASSWORD = "correct horse battery"
PHONE = "9161234567"  # the `merchant` fixture's owner
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


_getaddrinfo = socket.getaddrinfo  # the real one: tests stub socket.getaddrinfo, the guard must not trust a stub


def _loopback_only(connect):
    """socket.connect (or connect_ex) that fails the test on any address but loopback's."""
    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host, port = address[0], address[1]
            for info in _getaddrinfo(host, port, sock.family, socket.SOCK_STREAM):
                if not ipaddress.ip_address(info[4][0].split("%", 1)[0]).is_loopback:
                    pytest.fail(f"a test connected to a non-loopback address: {address!r}", pytrace=True)
        return connect(sock, address)
    return guarded


@pytest.fixture(autouse=True)
def no_connections_beyond_loopback(monkeypatch):
    """No test ever reaches beyond this machine, even when the code under test is wrong (webhooks'
    SSRF checks above all): a connect to any non-loopback address fails the test before it opens."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _loopback_only(socket.socket.connect_ex))


@pytest.fixture(scope="session")
def postgres_ready():
    """A PostgreSQL schema migrated once per run (only when the run targets PostgreSQL)."""
    if not PG_URL:
        return None
    target = database.connect(PG_URL)
    with target.connection_context():
        target.execute_sql("DROP SCHEMA public CASCADE")
        target.execute_sql("CREATE SCHEMA public")
    database.migrate(target)
    return target


@pytest.fixture
def database_url(tmp_path, postgres_ready):
    """This test's database: an empty migrated one."""
    if postgres_ready is None:
        return "sqlite:///" + str(tmp_path / "ckbiz.db")
    with postgres_ready.connection_context():
        tables = ", ".join(m._meta.table_name for m in MODELS)
        postgres_ready.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return PG_URL


@pytest.fixture
def app(tmp_path, monkeypatch, database_url):
    """A configured app on a migrated database, with huey running tasks inline."""
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "PAYMENT_SECRET": "test-payment-secret",
        "BASE_URL": "http://ckbiz.test",
    })
    if database_url.startswith("sqlite"):
        database.migrate(db)
    for queue in QUEUES:
        queue.immediate = True
    yield app
    for queue in QUEUES:
        queue.immediate = False
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def text(html):
    """What a reader sees of the HTML: its text without the tags."""
    return re.sub(r"<[^>]+>", "", html)


def csrf_token(client, path):
    """The CSRF token of the form on a page, as a browser would submit it."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


@pytest.fixture
def merchant(app):
    """A merchant with the demo services."""
    from ckbiz import demo

    with app.app_context(), db.connection_context():
        m, _ = demo.ensure_merchant(PHONE, PASSWORD, email="shop@example.com", name="Магазин")
    return m


class AuthActions:
    """Log in and out through the real views."""

    def __init__(self, client):
        self._client = client

    def login(self, phone=PHONE, password=PASSWORD, next_url=None):
        token = csrf_token(self._client, "/login")
        path = "/login" + (f"?next={next_url}" if next_url else "")
        return self._client.post(path, data={"phone": phone, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self._client, "/password")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def logged_in(client, auth, merchant):
    """The test client, logged in as the merchant through the real login form."""
    # A login that silently failed would let a test of a refusal pass for the wrong reason.
    assert auth.login().status_code == 303
    return client


def captcha(app, client, answer="12345"):
    """What a person does: look at the picture (here: we know what it says) and keep the session."""
    client.get("/captcha.png")
    with app.app_context(), db.connection_context():
        key = guards.remember_captcha(answer)
    with client.session_transaction() as session:
        session["captcha"] = key
    return answer


def recover(app, client, phone=PHONE, answer=None, solve=True):
    """«Вспомнить пароль» as a person does it: the phone and the code from the picture."""
    token = csrf_token(client, "/recover")
    real = captcha(app, client) if solve else None
    return client.post("/recover", data={"csrf_token": token, "phone": phone,
                                         "captcha": answer if answer is not None else real or ""})


def register_phone(app, client, phone):
    """Step one of registration as a person does it: phone, the code from the picture."""
    token = csrf_token(client, "/register")
    return client.post("/register", data={"csrf_token": token, "step": "phone", "phone": phone,
                                          "captcha": captcha(app, client)})


def sms_lines(app):
    """Every SMS the console backend has sent, one a line (none yet: an empty list)."""
    try:
        return open(app.instance_path + "/sms.log", encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        return []


def last_sms(app):
    """The latest SMS the console backend sent."""
    return sms_lines(app)[-1]


@pytest.fixture
def provider():
    """A fake SMS.ru/SMSC gateway on 127.0.0.1 (tests/sms_gateway.py), stopped after the test."""
    with sms_gateway.serve() as fake:
        yield fake


def free_port():
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """An aiosmtpd handler that keeps every message, or answers with a scripted error."""

    def __init__(self):
        self.messages = []
        self.raw = []  # each message's octets as they came
        self.peers = []  # the client end of the connection each message came on
        self.reply = None  # e.g. "451 4.3.0 try later"; None accepts

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.peers.append(session.peer)
        self.raw.append(envelope.original_content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback; the app sends to it."""
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    recorder.controller = controller
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_TIMEOUT=2)
    yield recorder
    recorder.controller.stop()  # a test may have restarted it


@pytest.fixture
def tbank(app):
    """A fake T-Bank on loopback, and the app configured to pay through it."""
    with running(FakeTBank) as fake:
        fake.lose_notifications = True  # the test client posts them: the fake cannot reach it
        app.config.update(PAYMENT_GATEWAY="tbank", TBANK_API_URL=fake.api_url, TBANK_TERMINAL_KEY=TERMINAL_KEY,
                          TBANK_PASSWORD=TBANK_PASSWORD, PAYMENT_TIMEOUT=1)
        yield fake


@pytest.fixture
def yookassa(app):
    """A fake ЮKassa on loopback, and the app configured to pay through it (notifications from 127.0.0.1)."""
    with running(FakeYooKassa) as fake:
        fake.lose_notifications = True
        app.config.update(PAYMENT_GATEWAY="yookassa", YOOKASSA_API_URL=fake.api_url, YOOKASSA_SHOP_ID=SHOP_ID,
                          YOOKASSA_SECRET_KEY=YOOKASSA_SECRET, YOOKASSA_NOTIFY_IPS=["127.0.0.1/32"],
                          PAYMENT_TIMEOUT=1)
        yield fake
