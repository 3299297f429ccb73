"""Load with nothing lost: merchants issue, payers pay, every message and payment is counted.

python bench/load.py [--backend sqlite|postgres|both] [--short] [--merchants 50] [--payers 200]
                     [--invoices-per-merchant 10] [--timeout 900] [--settle/--no-settle] [--keep]
                     [--pg-url postgresql://postgres@127.0.0.1:5432/ckbiz_load]
                     [--redis-url redis://127.0.0.1:6379/11]

For each backend it builds a fresh database with the demo merchants, starts a real
aiosmtpd server (a process of its own), the web app under gunicorn and the queue
worker(s), all on loopback:

- sqlite:   one gunicorn (as scripts/run.sh: gunicorn.conf.py's threaded workers) + one `flask worker`;
- postgres: database ckbiz_load (dropped and created here, never `test`) + Redis db 11
            (flushed here) as queue and rate-limit store; two gunicorn processes on two
            ports (requests alternate between them, as behind a load balancer) and two
            consumers, one with the periodic jobs and one `--no-periodic`.

Merchant threads log in through the real form and issue invoices by e-mail and SMS
(CSRF and all, like a browser). Payer threads take each payer link from the e-mail
the SMTP server received, open the page, and pay with the demo card form; some
double-click «Оплатить», double-submit the card, pay after a declined card, or
replay the signed gateway callback. Then it waits, bounded, until the outbox is
drained, and checks: zero 5xx, zero "database is locked" in any log, each e-mail
and SMS sent exactly once, each paid invoice has exactly one successful payment of
amount + commission, the sums agree to the kopeck. Prints Markdown tables of the
latencies and the checks; exits 1 when any check fails or the deadline passes.

Each merchant numbers its own invoices 1, 2, 3 …, so an invoice is known here by
(merchant, number), the merchant by its index (its owner's phone is 9000000000 + index). Every
e-mail names its merchant by its one recipient: a payer's payer{index}.{k}@example.com
or the merchant's shop{index}@example.com; an SMS by the payer link in it, which the
invoice e-mail carries too. The database's rows are matched through invoice.id.
"""
import argparse
import email
import hashlib
import hmac
import http.client
import json
import os
import queue
import random
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict, namedtuple
from datetime import datetime
from email import policy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from live import environment, flask, wait_for, web, worker  # noqa: E402

PASSWORD = "load password 1"
PAYMENT_SECRET = "live-payment-secret"  # what live.environment() gives every process
# Our own database and Redis db: the test suite drops the schema of `test` and flushes db 15.
PG_URL = "postgresql://postgres@127.0.0.1:5432/ckbiz_load"
REDIS_URL = "redis://127.0.0.1:6379/11"
FIRST_PHONE = 9000000000  # `demo --merchants N` gives merchant i the phone 9000000000 + i
GOOD_CARD, DECLINED_CARD = "4242 4242 4242 4242", "4000 0000 0000 0002"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
REQUEST_TIMEOUT = 60


class Failed(Exception):
    """One step of a simulated user went wrong (already counted in the stats)."""


class Deadline:
    """The moment a run gives up; brought forward at once when a server process dies."""

    def __init__(self, seconds):
        self.at = time.monotonic() + seconds
        self.reason = ""

    def stop(self, reason):
        self.reason = self.reason or reason
        self.at = min(self.at, time.monotonic())

    def left(self):
        return self.at - time.monotonic()

    def passed(self):
        return self.left() <= 0


# ---------------------------------------------------------------- measuring


class Stats:
    """Latencies and outcomes per request kind, shared by every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ms = defaultdict(list)
        self.errors = Counter()
        self.server_errors = Counter()
        self.samples = []  # the first few unexpected answers, for the report
        self.flow_failures = Counter()

    def record(self, kind, ms, status, ok, detail=""):
        with self.lock:
            self.ms[kind].append(ms)
            if status is not None and status >= 500:
                self.server_errors[kind] += 1
            if not ok:
                self.errors[kind] += 1
                if len(self.samples) < 15:
                    self.samples.append(f"{kind}: {status} {detail}"[:300])

    def timing(self, kind, ms):
        """A measured delay that is not one request (e-mail arrival, card confirmation)."""
        with self.lock:
            self.ms[kind].append(ms)

    def failure(self, what):
        with self.lock:
            self.flow_failures[what] += 1


def percentile(values, p):
    """Nearest-rank percentile of a sorted list."""
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


# ---------------------------------------------------------------- a browser


class Browser:
    """One user's cookies; each request on a new connection."""

    def __init__(self, ports, stats, deadline):
        self.ports, self.stats, self.deadline = ports, stats, deadline
        self.cookies = {}
        self.turn = random.randrange(len(ports))
        self.lock = threading.Lock()

    def request(self, kind, method, path, form=None, body=None, headers=None, expect=(200,)):
        if self.deadline.passed():
            raise Failed(self.deadline.reason or "deadline")
        with self.lock:
            self.turn += 1
            port = self.ports[self.turn % len(self.ports)]
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = dict(headers or {})
        if cookie:
            headers["Cookie"] = cookie
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            data = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            self.stats.record(kind, (time.perf_counter() - started) * 1000, None, False,
                              f"{method} {path}: {exc!r}")
            raise Failed(kind) from exc
        finally:
            conn.close()
        ms = (time.perf_counter() - started) * 1000
        with self.lock:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                value = rest.split(";", 1)[0]
                gone = not value or "Max-Age=0" in header or "1970" in header
                if gone:
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = value
        ok = response.status in expect
        problems = re.findall(r'class="error"[^>]*>([^<]+)<', data)
        self.stats.record(kind, ms, response.status, ok, f"{method} {path} {problems or repr(data[:120])}")
        if not ok:
            raise Failed(kind)
        return response.status, response.headers, data


def csrf(html):
    match = CSRF.search(html)
    if not match:
        raise Failed("no csrf token")
    return match.group(1) or match.group(2)


def location(headers):
    """The path of a redirect."""
    return urllib.parse.urlsplit(headers["Location"]).path


def twice(fn):
    """Run fn twice at the same moment (a double click); returns both results or exceptions."""
    results = [None, None]

    def run(i):
        try:
            results[i] = fn()
        except Failed as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---------------------------------------------------------------- mail

# One received e-mail: key is (merchant index, invoice number), token the payer link's (invoice e-mails).
Message = namedtuple("Message", "kind key message_id recipients token")
RECIPIENT = re.compile(r"payer(\d+)\.\d+@example\.com|shop(\d+)@example\.com")


def merchant_of(recipients):
    """The index of the merchant an e-mail is about, from its one recipient; None for any other."""
    match = RECIPIENT.fullmatch(recipients[0]) if len(recipients) == 1 else None
    return int(match.group(1) or match.group(2)) if match else None


def invoice_name(key):
    """An invoice's (merchant index, number) as the report shows it: «3/№ 2»."""
    merchant, number = key
    return f"{merchant}/№ {number}"


class Recorder:
    """The aiosmtpd handler, in a process of its own: one JSON line per message on stdout."""

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message_id = message["Message-ID"] or ""
        number = re.search(r"№\s*(\d+)", str(message["Subject"]))
        token = None
        if message_id.startswith("<invoice."):
            token = re.search(r"/i/([A-Za-z0-9_-]{16,64})", message.get_body(("plain",)).get_content())
        print(json.dumps({"kind": message_id.strip("<").split(".", 1)[0], "message_id": message_id,
                          "number": int(number.group(1)) if number else None, "rcpt": envelope.rcpt_tos,
                          "token": token.group(1) if token else None}), flush=True)
        return "250 OK"


def smtp_server(port):
    """`load.py --smtp-server PORT`: receive until stdin closes (the GIL of the load threads stays out)."""
    from aiosmtpd.controller import Controller

    controller = Controller(Recorder(), hostname="127.0.0.1", port=port)
    controller.start()
    print(json.dumps({"ready": port}), flush=True)
    sys.stdin.read()
    controller.stop()


class Mailbox:
    """Every message the SMTP server process received; invoice e-mails feed the payers' queue."""

    def __init__(self, stats, issued_at):
        self.messages = []  # Message, in the order they came
        self.links = queue.Queue()
        self.stats, self.issued_at = stats, issued_at
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--smtp-server",
                                         str(self.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if "ready" not in json.loads(self.process.stdout.readline() or "{}"):
            raise SystemExit("the SMTP server did not start")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            got = json.loads(line)
            recipients = tuple(got["rcpt"])
            message = Message(got["kind"], (merchant_of(recipients), got["number"]), got["message_id"],
                              recipients, got["token"])
            self.messages.append(message)
            if message.kind == "invoice" and None not in message.key:
                if message.key in self.issued_at:
                    self.stats.timing("e-mail arrives (issue → SMTP)",
                                      (time.monotonic() - self.issued_at[message.key]) * 1000)
                self.links.put((message.key, message.token))

    def stop(self):
        self.process.stdin.close()
        self.process.wait(10)
        self.reader.join(10)


# ---------------------------------------------------------------- the users


def merchant_user(index, args, ports, stats, deadline, issued, issued_at, lock):
    """Log in, then issue invoices one after another, like a person at the form."""
    phone = str(FIRST_PHONE + index)
    browser = Browser(ports, stats, deadline)
    rng = random.Random(index)
    try:
        _, _, html = browser.request("login form", "GET", "/login")
        browser.request("log in", "POST", "/login", {"phone": phone, "password": PASSWORD,
                                                      "csrf_token": csrf(html)}, expect=(303,))
        for k in range(args.invoices_per_merchant):
            _, _, html = browser.request("issue form", "GET", "/invoices/new")
            service = re.search(r'<select[^>]*name="service".*?<option[^>]*value="(\d+)"', html, re.S).group(1)
            kopecks = rng.randrange(100, 5_000_000)
            amount = f"{kopecks // 100}{rng.choice(',.')}{kopecks % 100:02d}"
            browser.request("commission (htmx)", "GET", "/invoices/new/commission?" + urllib.parse.urlencode(
                {"service": service, "amount": amount}), headers={"HX-Request": "true"})
            _, headers, _ = browser.request("issue", "POST", "/invoices", {
                "csrf_token": csrf(html), "service": service, "payer_email": f"payer{index}.{k}@example.com",
                "payer_phone": "9026376577", "req-account": str(100000 + index * 1000 + k),
                "req-fio": "Иванов Иван", "req-address": "ул. Ленина, 1", "validity_hours": "24",
                "amount": amount, "comment": f"load {index}.{k}"}, expect=(303,))
            path = location(headers)
            key = (index, int(path.rsplit("/", 1)[1]))
            with lock:
                issued[key] = kopecks
                issued_at[key] = time.monotonic()
            browser.request("invoice page", "GET", path)
        browser.request("history", "GET", "/invoices")
    except Failed as exc:
        stats.failure(f"merchant: {exc}")
    except Exception as exc:  # a bug here must show, not hang the run
        stats.failure(f"merchant: {exc!r}")


def behaviour(key, per_merchant):
    """What this payer does with this invoice, fixed by the invoice's (merchant, number).

    Seeded by the invoice's place in the run, 1 … merchants × per_merchant: the mix the
    runs had when numbers were global (the short run's 30 invoices try every behaviour).
    """
    merchant, number = key
    rng = random.Random((merchant * per_merchant + number) * 7919)
    how = {"open_only": rng.random() < 0.08, "decline_first": rng.random() < 0.08,
           "double_pay": rng.random() < 0.10, "double_submit": rng.random() < 0.10,
           "replay": rng.random() < 0.15, "shared": rng.random() < 0.05}
    if how["shared"]:  # two people pay one forwarded link at the same moment, plainly
        how.update(open_only=False, decline_first=False, double_pay=False, double_submit=False)
    return how


def payer_user(links, ports, stats, deadline, outcome, lock, confirm_timeout, per_merchant):
    """Take links as they arrive by e-mail and pay them, until the sentinel."""
    while True:
        if deadline.passed():
            return
        try:
            item = links.get(timeout=0.5)
        except queue.Empty:
            continue
        if item is None:
            return
        key, token = item
        if token is None:
            stats.failure("payer: invoice e-mail without a link")
            continue
        browser = Browser(ports, stats, deadline)
        try:
            result = pay_one(browser, behaviour(key, per_merchant), token, stats, deadline, confirm_timeout)
        except Failed as exc:
            stats.failure(f"payer: {exc}")
            result = "failed"
        except Exception as exc:
            stats.failure(f"payer: {exc!r}")
            result = "failed"
        with lock:
            outcome[key] = result


def pay_one(browser, how, token, stats, deadline, confirm_timeout):
    """One payer (two for a shared link) and one invoice, as a browser does it, as behaviour() says.

    Returns "paid", "shared" (paid twice at once: one payment must be flagged for a refund)
    or "opened".
    """
    link = f"/i/{token}"
    _, _, html = browser.request("payer page", "GET", link)
    if "Оплатить банковской картой" not in html:
        raise Failed("payer page without the pay button")
    browser.request("payment QR", "GET", f"{link}/qr.png")
    if how["open_only"]:
        return "opened"
    if how["shared"]:
        other = Browser(browser.ports, stats, deadline)
        _, _, other_html = other.request("payer page", "GET", link)
        forms = parallel(lambda: start_payment(browser, link, html, how),
                         lambda: start_payment(other, link, other_html, how))
        parallel(*(lambda b=b, f=f: submit_card(b, f, GOOD_CARD, how, stats, deadline, confirm_timeout)
                   for b, f in zip((browser, other), forms)))
    else:
        for card in [DECLINED_CARD, GOOD_CARD] if how["decline_first"] else [GOOD_CARD]:
            form_path = start_payment(browser, link, html, how)
            page = submit_card(browser, form_path, card, how, stats, deadline, confirm_timeout)
            if card == DECLINED_CARD:
                _, _, html = browser.request("payer page", "GET", link)
        if how["replay"]:
            replay_callback(browser, form_path, token, page)
    _, _, html = browser.request("payer page", "GET", link)
    if "Оплатить банковской картой" in html:
        raise Failed("paid invoice still offers to pay")
    return "shared" if how["shared"] else "paid"


def parallel(*fns):
    """Run the functions at the same moment; their results, or the first Failed."""
    results = [None] * len(fns)

    def run(i):
        try:
            results[i] = fns[i]()
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def start_payment(browser, link, html, how):
    """«Оплатить банковской картой» (clicked twice for some): the card form's path."""
    token_value = csrf(html)

    def start():
        return browser.request("pay (start)", "POST", f"{link}/pay", {"csrf_token": token_value},
                               expect=(303,))

    if how["double_pay"]:
        good = [r for r in twice(start) if not isinstance(r, Failed)]
        if not good:
            raise Failed("pay (start) twice")
        return location(good[-1][1])
    return location(start()[1])


def submit_card(browser, form_path, card, how, stats, deadline, confirm_timeout):
    """Fill the demo card form (submitted twice for some) and wait for the bank like the page does."""
    _, _, form_html = browser.request("card form", "GET", form_path)
    card_csrf = csrf(form_html)

    def submit():
        return browser.request("card submit", "POST", form_path, {
            "csrf_token": card_csrf, "number": card, "expiry": "12/40", "cvc": "123",
            "holder": "IVAN IVANOV"}, expect=(303, 200))

    submitted = time.monotonic()
    if how["double_submit"] and card == GOOD_CARD:
        if all(isinstance(r, Failed) for r in twice(submit)):
            raise Failed("card submit twice")
    else:
        submit()
    wait_until = min(deadline.at, submitted + confirm_timeout)
    while True:
        _, _, page = browser.request("card result (refresh)", "GET", form_path)
        if "Оплата прошла" in page or "Платеж отклонен" in page:
            break
        if time.monotonic() > wait_until:
            raise Failed("card never confirmed")
        time.sleep(2.0)  # the page's own <meta http-equiv="refresh" content="2">
    stats.timing("card confirmed (submit → result page)", (time.monotonic() - submitted) * 1000)
    wanted = "Платеж отклонен" if card == DECLINED_CARD else "Оплата прошла"
    if wanted not in page:
        raise Failed(f"{card}: the bank answered the other way")
    return page


def replay_callback(browser, form_path, token, page):
    """A gateway that repeats itself: a new event for a settled payment, the same event twice, a forgery."""
    total = re.search(r"Сумма списания: <strong>([^<]+)</strong>", page).group(1)
    # «1 522,50 ₽»: groups of thousands split by no-break spaces, a decimal comma.
    rubles, kop = re.search(r"(\d[\d\s]*),(\d{2})", total).groups()
    amount_kop = int(re.sub(r"\D", "", rubles)) * 100 + int(kop)
    body = json.dumps({"event_id": "evt_replay_" + secrets.token_urlsafe(9),
                       "payment_id": form_path.rsplit("/", 1)[1], "invoice_token": token,
                       "amount_kop": amount_kop, "currency": "RUB", "status": "succeeded"}).encode()
    stamp = int(time.time())
    signature = hmac.new(PAYMENT_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Ckbiz-Signature": f"t={stamp},v1={signature}"}
    for expected in ("already", "duplicate"):
        _, _, answer = browser.request("callback replay", "POST", "/payments/demo/callback", body=body,
                                       headers=headers)
        if json.loads(answer).get("outcome") != expected:
            raise Failed(f"callback replay answered {answer!r}, wanted {expected}")
    forged = {**headers, "X-Ckbiz-Signature": f"t={stamp},v1={'0' * 64}"}
    browser.request("callback forged", "POST", "/payments/demo/callback", body=body.replace(b"evt_", b"evx_"),
                    headers=forged, expect=(400,))


# ---------------------------------------------------------------- the database, read-only


class Reader:
    """Plain SQL on the load database, without going through the app."""

    def __init__(self, url):
        self.url = url

    def rows(self, sql, params=()):
        if self.url.startswith("sqlite:///"):
            conn = sqlite3.connect(f"file:{self.url[len('sqlite:///'):]}?mode=ro", uri=True, timeout=30)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        import psycopg2

        conn = psycopg2.connect(self.url)
        try:
            with conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return cur.fetchall()
        finally:
            conn.close()


def write_sql(url, sql):
    """One statement of set-up outside the app (the merchants' contact e-mail)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///"):])
        with conn:
            conn.execute(sql)
        conn.close()
        return
    import psycopg2

    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


# ---------------------------------------------------------------- one run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def consumers_ready(backend, folder, processes, redis_url, threads=2):
    """True once every consumer thread is waiting on the queue (not merely started)."""
    if backend == "postgres":
        import redis

        client = redis.Redis.from_url(redis_url)
        db = str(client.connection_pool.connection_kwargs.get("db", 0))
        waiting = sum(1 for c in client.client_list() if c.get("db") == db and c.get("cmd") == "brpop")
        return waiting >= threads * len(processes)
    queue_file = os.path.join(folder, "huey.db")
    for process in processes:
        fds = os.path.join("/proc", str(process.proc.pid), "fd")
        if not any(os.path.realpath(os.path.join(fds, fd)) == queue_file for fd in os.listdir(fds)):
            return False
    return True


def prepare_postgres(pg_url, redis_url):
    """Our own database, dropped and created; our own Redis db, flushed."""
    import psycopg2
    import redis

    parts = urllib.parse.urlsplit(pg_url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in ("test", "postgres", "template0", "template1"):
        raise SystemExit(f"--pg-url: refusing to drop database {name!r}; name one of the load's own")
    conn = psycopg2.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    redis.Redis.from_url(redis_url).flushdb()


def run(backend, args):
    """One full load on one backend; returns (report text, ok)."""
    started = time.monotonic()
    deadline = Deadline(args.timeout)
    if backend == "postgres":
        prepare_postgres(args.pg_url, args.redis_url)
    folder = tempfile.mkdtemp(prefix=f"ckbiz-load-{backend}-")
    stats = Stats()
    issued, issued_at, outcome, lock = {}, {}, {}, threading.Lock()
    mailbox = Mailbox(stats, issued_at)
    ports = [free_port()] + ([free_port()] if backend == "postgres" else [])
    if backend == "postgres":
        database_url, huey_url, extra = args.pg_url, args.redis_url, {"RATELIMIT_STORAGE_URL": args.redis_url}
    else:
        database_url, huey_url, extra = f"sqlite:///{folder}/ckbiz.db", "", {}
    env = environment(folder, database_url, huey_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port,
                      BASE_URL=f"http://127.0.0.1:{ports[0]}", SETTLEMENT_DELAY_MINUTES=0,
                      SMS_DAILY_LIMIT=100000, **extra)
    processes, logs, checks = [], [], []
    try:
        flask(env, "init-db", timeout=120)
        flask(env, "demo", "--password", PASSWORD, "--merchants", str(args.merchants), timeout=300)
        # The merchant's notices then name it: shop{index}@example.com (see merchant_of).
        write_sql(database_url, "UPDATE merchant SET email = 'shop' || (SELECT CAST(u.phone AS BIGINT) - "
                  f"{FIRST_PHONE} FROM users u WHERE u.merchant_id = merchant.id) || '@example.com'")
        setup_s = time.monotonic() - started
        for i, port in enumerate(ports):
            logs.append(os.path.join(folder, f"web{i}.log"))
            processes.append(web(env, port, logs[-1], workers=args.web_workers))
        consumers = [()] if backend == "sqlite" else [(), ("--no-periodic",)]
        consumer_started = time.monotonic()
        for i, options in enumerate(consumers):
            logs.append(os.path.join(folder, f"worker{i}.log"))
            processes.append(worker(env, logs[-1], *options))
        wait_for(lambda: consumers_ready(backend, folder, processes[len(ports):], args.redis_url), timeout=60,
                 what="the queue consumers to poll the queue")
        consumers_s = time.monotonic() - consumer_started

        load_started = time.monotonic()
        merchants = [threading.Thread(target=merchant_user, daemon=True,
                                      args=(i, args, ports, stats, deadline, issued, issued_at, lock))
                     for i in range(args.merchants)]
        payers = [threading.Thread(target=payer_user, daemon=True,
                                   args=(mailbox.links, ports, stats, deadline, outcome, lock,
                                         args.confirm_timeout, args.invoices_per_merchant))
                  for _ in range(args.payers)]
        for t in merchants + payers:
            t.start()
        def wait(predicate):
            """Poll until predicate() or the deadline; a dead server process ends the wait at once."""
            while not deadline.passed():
                for process, log in zip(processes, logs):
                    if process.proc.poll() is not None:
                        deadline.stop(f"{os.path.basename(log)} exited with {process.proc.returncode}")
                if predicate():
                    return True
                time.sleep(0.2)
            return predicate()

        wait(lambda: not any(t.is_alive() for t in merchants))
        merchants_s = time.monotonic() - load_started
        # Every issued invoice's e-mail reaches a payer; then the payers may go home.
        wait(lambda: sum(1 for m in list(mailbox.messages) if m.kind == "invoice") >= len(issued))
        for _ in payers:
            mailbox.links.put(None)
        wait(lambda: not any(t.is_alive() for t in payers))
        load_s = time.monotonic() - load_started
        timed_out = any(t.is_alive() for t in merchants + payers)

        reader = Reader(database_url)
        paid = {k for k, r in outcome.items() if r in ("paid", "shared")}
        shared = {k for k, r in outcome.items() if r == "shared"}
        expected_mail = len(issued) + 2 * len(paid) + len(shared)
        sms_path = os.path.join(folder, "sms.log")

        def drained():
            busy = reader.rows("SELECT COUNT(*) FROM delivery WHERE state IN ('pending', 'sending')")[0][0]
            settled = not args.settle or reader.rows(
                "SELECT COUNT(*) FROM invoice WHERE status = 'paid'")[0][0] == 0
            return busy == 0 and len(mailbox.messages) >= expected_mail and settled and sms_lines() >= len(issued)

        def sms_lines():
            if not os.path.exists(sms_path):
                return 0
            with open(sms_path, encoding="utf-8") as fh:
                return sum(1 for _ in fh)

        drained_ok = wait(drained)
        time.sleep(args.quiet)  # a late duplicate would arrive now
        drain_s = time.monotonic() - load_started - load_s

        # ------------------------------------------------------------ checks
        def check(name, ok, detail=""):
            checks.append((name, bool(ok), detail))

        check("finished before the deadline", not timed_out and drained_ok and not deadline.reason,
              f"load {load_s:.0f} s, drain {drain_s:.0f} s, deadline {args.timeout} s {deadline.reason}")
        wanted = args.merchants * args.invoices_per_merchant
        check("every merchant issued every invoice", len(issued) == wanted and not any(
            k.startswith("merchant") for k in stats.flow_failures), f"{len(issued)} of {wanted}")
        numbers = defaultdict(list)
        for merchant, number in issued:
            numbers[merchant].append(number)
        check("each merchant numbered its invoices 1, 2, 3 …", all(
            sorted(got) == list(range(1, len(got) + 1)) for got in numbers.values()),
            f"{len(numbers)} merchants, numbers up to {max((max(got) for got in numbers.values()), default=0)}")
        check("every payer flow completed", not stats.flow_failures and len(outcome) == len(issued),
              f"{len(outcome)} invoices handled, {len(paid)} paid; failures: {dict(stats.flow_failures) or 0}")
        total_requests = sum(len(v) for k, v in stats.ms.items() if "→" not in k)
        check("zero 5xx", not stats.server_errors, f"{sum(stats.server_errors.values())} of {total_requests} "
              f"requests {dict(stats.server_errors) or ''}")
        check("zero unexpected answers", not stats.errors, f"{dict(stats.errors) or 0}")
        locked, tracebacks = Counter(), Counter()
        for path in logs:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            locked[os.path.basename(path)] = text.lower().count("database is locked")
            tracebacks[os.path.basename(path)] = sum(text.count(sign) for sign in (
                "Traceback", "WORKER TIMEOUT", "[ERROR]", "[CRITICAL]"))
        check('zero "database is locked" in any log', not sum(locked.values()), f"{dict(+locked) or 0}")
        check("zero tracebacks or worker timeouts in any log", not sum(tracebacks.values()),
              f"{dict(+tracebacks) or 0}")

        mail = list(mailbox.messages)
        per = Counter((m.kind, m.key) for m in mail)
        ids = Counter(m.message_id for m in mail)
        want = Counter({("invoice", k): 1 for k in issued})
        for k in paid:
            want[("paid_notice", k)] = 1
            want[("payment_received", k)] = 1
        for k in shared:
            want[("refund_notice", k)] = 1
        wrong = {f"{kind} {invoice_name(key)}": per[kind, key] for kind, key in set(per) | set(want)
                 if per[kind, key] != want[kind, key]}
        check("every e-mail sent exactly once", not wrong and all(v == 1 for v in ids.values()),
              f"{len(mail)} messages, {len(ids)} Message-IDs, expected {sum(want.values())}"
              + (f"; wrong: {dict(list(wrong.items())[:8])}" if wrong else ""))
        # An SMS names its invoice by the payer link, known from the invoice e-mail that
        # carried it; the number in its text must be that invoice's too.
        by_link = {m.token: m.key for m in mail if m.kind == "invoice" and m.token}
        sms = Counter()
        if os.path.exists(sms_path):
            with open(sms_path, encoding="utf-8") as fh:
                for line in fh:
                    found = re.search(r"№\s*(\d+)", line)
                    link = re.search(r"/i/([A-Za-z0-9_-]{16,64})", line)
                    key = by_link.get(link.group(1)) if link else None
                    number = int(found.group(1)) if found else None
                    sms[key if key and key[1] == number else (None, number)] += 1
        check("every SMS sent exactly once", sms == Counter({k: 1 for k in issued}),
              f"{sum(sms.values())} SMS for {len(issued)} invoices")
        states = Counter(dict(reader.rows("SELECT state, COUNT(*) FROM delivery GROUP BY state")))
        check("outbox drained: every delivery row sent", set(states) <= {"sent"} and
              states["sent"] == len(issued) * 2 + len(paid) * 2 + len(shared), f"{dict(states)}")

        attempts = Counter(dict(reader.rows("SELECT attempts, COUNT(*) FROM delivery GROUP BY attempts")))
        check("(info) send attempts per delivery", True, f"{dict(attempts)}")
        for created, sent, kind in reader.rows("SELECT created_at, sent_at, kind FROM delivery WHERE sent_at IS NOT NULL"):
            created, sent = (v if isinstance(v, datetime) else datetime.fromisoformat(v) for v in (created, sent))
            label = "invoice" if kind == "invoice" else "notice"
            stats.timing(f"outbox row → sent ({label}; database clock)", (sent - created).total_seconds() * 1000)
        # Payments and events refer to invoice.id: read each invoice's (merchant index, number) once.
        index = {merchant_id: int(phone) - FIRST_PHONE for merchant_id, phone in reader.rows(
            "SELECT merchant_id, phone FROM users")}
        key_of, invoices = {}, {}
        for invoice_id, merchant_id, number, status, amount, commission in reader.rows(
                "SELECT id, merchant_id, number, status, amount_kop, commission_kop FROM invoice"):
            key_of[invoice_id] = (index[merchant_id], number)
            invoices[key_of[invoice_id]] = (status, amount, commission)
        check("every amount stored exactly as typed", all(
            invoices.get(k, (None, None))[1] == kop for k, kop in issued.items()) and len(invoices) == len(issued),
            f"{len(invoices)} invoices in the database")
        final = "transferred" if args.settle else None
        db_paid = {k for k, (status, _, _) in invoices.items() if status in ("paid", "transferred")}
        check("paid in the database = paid by the payers", db_paid == paid and (
            final is None or all(invoices[k][0] == final for k in paid)),
            f"{len(db_paid)} paid ({Counter(s for s, _, _ in invoices.values())})")
        payments = [(key_of.get(invoice_id), amount, note) for invoice_id, amount, note in reader.rows(
            "SELECT invoice_id, amount_kop, attention FROM payment WHERE status = 'succeeded'")]
        succeeded = Counter(k for k, _, _ in payments)
        check("every payment recorded once (twice for a link paid by two people at once)",
              all(succeeded[k] == (2 if k in shared else 1) for k in paid) and set(succeeded) == paid,
              f"{sum(succeeded.values())} successful payments for {len(paid)} paid invoices, "
              f"{len(shared)} of them paid by two payers at once")
        flagged = Counter(k for k, _, note in payments if note)
        refunds = all(note.startswith("refund:") for _, _, note in payments if note)
        flagged_in_all = reader.rows("SELECT COUNT(*) FROM payment WHERE attention <> ''")[0][0]
        check("exactly the second payment of a shared link flagged for a refund",
              flagged == Counter({k: 1 for k in shared}) and refunds and flagged_in_all == len(shared),
              f"{flagged_in_all} flagged for {len(shared)} shared links; all refunds: {refunds}")
        kept = sum(amount for _, amount, note in payments if not note)
        to_refund = sum(amount for _, amount, note in payments if note)
        owed = sum(invoices[k][1] + invoices[k][2] for k in paid)
        typed = sum(issued[k] for k in paid)
        check("sum of payments = sum of amount + commission, to the kopeck",
              kept == owed and typed == sum(invoices[k][1] for k in paid)
              and to_refund == sum(invoices[k][1] + invoices[k][2] for k in shared),
              f"{kept} = {owed} kopecks kept, {to_refund} to refund")
        viewed = Counter(key_of.get(invoice_id) for (invoice_id,) in reader.rows(
            "SELECT invoice_id FROM invoice_event WHERE kind = 'viewed'"))
        check("first view recorded once per invoice", viewed == Counter({k: 1 for k in outcome}),
              f"{sum(viewed.values())} for {len(outcome)} opened")
    except BaseException:
        print(f"{backend}: the run broke off; logs and database kept in {folder}", file=sys.stderr)
        raise
    finally:
        for process in reversed(processes):
            process.stop()
        mailbox.stop()

    ok = all(passed for _, passed, _ in checks)
    lines = [f"\n### {backend}: {'PASS' if ok else 'FAIL'}\n",
             f"{args.merchants} merchants × {args.invoices_per_merchant} invoices, {args.payers} payers; "
             + ("gunicorn ×1" if backend == "sqlite" else "gunicorn ×2 (requests alternate), Redis queue")
             + f" with {args.web_workers} sync workers each, {len(consumers)} consumer(s). "
             f"Set-up {setup_s:.0f} s, consumers polling after {consumers_s:.1f} s, merchants done in {merchants_s:.0f} s, load {load_s:.0f} s, "
             f"drained {drain_s:.0f} s later; {total_requests} requests ({total_requests / max(load_s, 0.001):.0f}/s).\n",
             "| request | count | p50 ms | p95 ms | p99 ms | max ms | 5xx | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, values in sorted(stats.ms.items(), key=lambda item: "→" in item[0]):
        values = sorted(values)
        lines.append(f"| {kind} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} | "
                     f"{percentile(values, 99):.0f} | {values[-1]:.0f} | {stats.server_errors[kind]} | "
                     f"{stats.errors[kind]} |")
    lines += ["", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {name} | {'ok' if passed else 'FAILED'} | {detail} |" for name, passed, detail in checks]
    if stats.samples:
        lines += ["", "First unexpected answers:", *[f"- {s}" for s in stats.samples]]
    if ok and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        lines.append(f"\nlogs and database kept in {folder}")
    return "\n".join(lines), ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--short", action="store_true",
                        help="CI size: 10 merchants × 3 invoices, 40 payers, 90 s deadline per backend")
    parser.add_argument("--merchants", type=int)
    parser.add_argument("--payers", type=int)
    parser.add_argument("--invoices-per-merchant", type=int)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers per web process")
    parser.add_argument("--timeout", type=int, help="seconds per backend before the run fails")
    parser.add_argument("--confirm-timeout", type=int, default=90, help="seconds a payer waits for the bank")
    parser.add_argument("--settle", action=argparse.BooleanOptionalAction,
                        help="wait for the periodic settlement (up to a minute; default: on unless --short)")
    parser.add_argument("--quiet", type=float, default=3.0, help="seconds to wait for late duplicates")
    parser.add_argument("--keep", action="store_true", help="keep logs and database even when all passed")
    parser.add_argument("--pg-url", default=PG_URL, help="dropped and created by each run (never `test`)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="this Redis db is flushed by each run")
    parser.add_argument("--smtp-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_server:
        return smtp_server(args.smtp_server)
    size = (10, 40, 3, 90) if args.short else (50, 200, 10, 900)
    for name, value in zip(("merchants", "payers", "invoices_per_merchant", "timeout"), size):
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.settle is None:
        args.settle = not args.short
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = []
    for backend in backends:
        report, ok = run(backend, args)
        print(report, flush=True)
        results.append(ok)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
