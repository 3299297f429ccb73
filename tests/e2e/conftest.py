"""One live ckbiz (gunicorn + `flask worker` + a real SMTP server) and a headless Chromium.

Session-scoped: the app, the SMTP recorder, the browser and the logged-in state of
the demo merchants. Function-scoped: `context_factory` (fresh browser contexts),
`page` (the demo merchant, logged in). A failed test leaves a screenshot of every
page it opened in test-artifacts/<test name>.png.
"""
import os
import re
import secrets
import shutil
import subprocess

import pytest
from playwright.sync_api import expect, sync_playwright

from ckbiz import database

from conftest import CSRF, SmtpRecorder, free_port  # tests/conftest.py
from live import ROOT, environment, flask, wait_for, web, worker

PASSWORD = "e2e demo password"
PHONE = "9000000000"          # the demo merchant: history, actions, issue form, payer
SETTINGS_PHONE = "9000000001"  # a second demo merchant whose settings the §7 tests change
DOOR_PHONE = "9000000002"  # a third one for §3: logging out ends every session of the merchant
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 360, "height": 740}
PAYER_LINK = re.compile(r"http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]+")

expect.set_options(timeout=10_000)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: browser tests")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


class Mailbox:
    """What the app's real SMTP traffic looks like from a test."""

    def __init__(self, recorder):
        self.recorder = recorder

    def to(self, address):
        """Every message delivered to this address so far."""
        return [m for _, rcpts, m in list(self.recorder.messages) if address in rcpts]

    def wait(self, address, subject=None, count=1, timeout=30):
        """Wait until `count` messages (whose subject contains `subject`) reached the address."""
        def arrived():
            found = [m for m in self.to(address) if subject is None or subject in m["Subject"]]
            return found if len(found) >= count else None

        what = f"{count} mail(s) to {address}" + (f" with «{subject}»" if subject else "")
        return wait_for(arrived, timeout=timeout, what=what)[-1]


def text_of(message):
    """The plain-text part of a received message."""
    return message.get_body(("plain",)).get_content()


def payer_link(message):
    """The «ОПЛАТИТЬ БАНКОВСКОЙ КАРТОЙ» link of an invoice mail."""
    match = PAYER_LINK.search(text_of(message))
    assert match, "no payer link in the mail"
    return match.group(0)


class Live:
    """The running app: its address, environment, database and mail."""

    def __init__(self, base, env, instance, mailbox):
        self.base, self.env, self.instance, self.mail = base, env, instance, mailbox

    def url(self, path):
        return self.base + path

    def sql(self, statement, *params):
        """Run one statement on the app's database, SQLite or PostgreSQL (test set-up and checks
        only; `?` marks a parameter)."""
        target = database.connect(self.env["CKBIZ_DATABASE_URL"])
        with target.connection_context():
            cursor = target.execute_sql(statement.replace("?", target.param), params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def job(self, name, *options):
        """Run one periodic job now, or as `options` say (`flask jobs run NAME --now …`)."""
        return run_flask(self.env, "jobs", "run", name, *options).stdout


def run_flask(env, *args):
    """A `flask --app app` command; its stderr in the failure when it fails."""
    try:
        return flask(env, *args)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"flask {' '.join(args)} failed ({exc.returncode}): {exc.stderr}")


@pytest.fixture(scope="session")
def smtp():
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


@pytest.fixture(scope="session")
def live(smtp, tmp_path_factory):
    """gunicorn + worker on a fresh instance with three demo merchants and some invoices."""
    instance = str(tmp_path_factory.mktemp("ckbiz-e2e"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(instance, f"sqlite:///{instance}/ckbiz.db", "", BASE_URL=base,
                      MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5)
    run_flask(env, "init-db")
    run_flask(env, "demo", "--password", PASSWORD, "--email", "shop@example.com", "--merchants", "3",
          "--invoices", "40")
    with web(env, port, f"{instance}/web.log", workers=2), worker(env, f"{instance}/worker.log"):
        yield Live(base, env, instance, Mailbox(smtp))


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        yield chromium
        chromium.close()


def login(page, live, phone=PHONE, password=PASSWORD):
    """Log in through the login form, as a person does; lands on «Выставить счет»."""
    page.goto(live.url("/login"))
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("button:has-text('Войти')")
    expect(page).to_have_url(live.url("/invoices/new"))
    expect(page.get_by_role("heading", name="Выставить счет")).to_be_visible()


def _logged_in_state(browser, live, phone):
    context = browser.new_context(viewport=DESKTOP)
    try:
        login(context.new_page(), live, phone)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="session")
def merchant_state(browser, live):
    """Cookies of a logged-in demo merchant (9000000000), logged in once per run."""
    return _logged_in_state(browser, live, PHONE)


@pytest.fixture(scope="session")
def settings_merchant_state(browser, live):
    """Cookies of the second demo merchant (9000000001), whose settings §7 changes."""
    return _logged_in_state(browser, live, SETTINGS_PHONE)


@pytest.fixture
def context_factory(browser, request):
    """New browser contexts for this test; every page is screenshotted if the test fails."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", DESKTOP)
        options.setdefault("locale", "ru-RU")
        context = browser.new_context(**options)
        contexts.append(context)
        return context

    yield make
    failed = any(getattr(request.node, f"rep_{when}", None) is not None
                 and getattr(request.node, f"rep_{when}").failed for when in ("setup", "call"))
    if failed:
        os.makedirs(ARTIFACTS, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        pages = [page for context in contexts for page in context.pages]
        for n, page in enumerate(pages):
            suffix = "" if n == 0 else f"-{n + 1}"
            try:
                page.screenshot(path=os.path.join(ARTIFACTS, f"{name}{suffix}.png"), full_page=True)
            except Exception:  # a crashed page must not hide the test's own failure
                pass
    for context in contexts:
        context.close()


@pytest.fixture
def page(context_factory, merchant_state):
    """A page of the demo merchant, logged in, on a 1280×900 desktop."""
    return context_factory(storage_state=merchant_state).new_page()


@pytest.fixture
def settings_page(context_factory, settings_merchant_state):
    """A page of the second demo merchant (its settings are the §7 tests' to change)."""
    return context_factory(storage_state=settings_merchant_state).new_page()


@pytest.fixture
def payer_phone_page(context_factory):
    """A stranger's phone: 360×740, touch, no cookies of the cabinet."""
    context = context_factory(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    return context.new_page()


def unique_key():
    """A fresh 9-digit key requisite prefix (starts with 5: never a phone, never an invoice number)."""
    return "5" + "".join(secrets.choice("0123456789") for _ in range(8))


def unique_email(tag):
    return f"{tag}-{secrets.token_hex(4)}@example.com"


def issue(page, live, account, *, email=None, phone=None, amount="100", fio="Иванов Иван Иванович",
          validity_hours="72", **extra):
    """Set-up: issue an invoice of the first service over HTTP with the page's session; its number."""
    html = page.request.get(live.url("/invoices/new")).text()
    match = CSRF.search(html)
    assert match, "no CSRF token on the issue form"
    form = {"csrf_token": match.group(1) or match.group(2), "payer_email": email or "",
            "payer_phone": phone or "", "req-account": account, "req-fio": fio,
            "validity_hours": validity_hours, "amount": amount, **extra}
    response = page.request.post(live.url("/invoices"), form=form, max_redirects=0)
    assert response.status == 303, response.text()[:2000]
    return int(response.headers["location"].rstrip("/").rsplit("/", 1)[1])


def page_csrf(page):
    """The CSRF token the page in the browser carries (to act "in another tab")."""
    return page.locator("input[name=csrf_token]").first.input_value()


def unlabelled_fields(page):
    """Visible inputs, selects and textareas with no label: <label for>, wrapping label or aria-label."""
    return page.locator("input, select, textarea").evaluate_all("""els => els
        .filter(el => el.type !== "hidden" && el.checkVisibility())
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                      && !el.getAttribute("aria-labelledby"))
        .map(el => el.outerHTML.slice(0, 120))""")
