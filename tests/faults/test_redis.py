"""Redis restarted under RedisHuey (a Redis of the test's own on a free port, never the
shared one). The outbox in the database is the source of truth: a Redis that is down, or
comes back empty, costs no delivery, and the web app never answers 500 meanwhile."""
import json
import shutil

import pytest

from faultkit import Browser, ScriptedSmtp, SmtpServer, message_ids, rows, service_id
from ckbiz.extensions import db
from ckbiz.models import Invoice
from ckbiz.database import utcnow
from conftest import free_port
from live import Process, environment, flask, wait_for, web, worker

REDIS = shutil.which("redis-server")


class Redis:
    """A throwaway redis-server without persistence: a restart loses everything queued."""

    def __init__(self, folder):
        self.folder, self.port, self.process = folder, free_port(), None

    def start(self):
        self.process = Process([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(self.folder)],
                               None, self.folder / "redis.log")
        wait_for(self.answers, timeout=10, what="redis-server")

    def answers(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def kill(self):
        self.process.stop(timeout=10)  # SIGINT: exits at once and, with --save "", keeps nothing

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.mark.skipif(not REDIS, reason="redis-server is not installed")
def test_redis_restart_loses_no_delivery_and_never_500s(app, merchant, tmp_path):
    redis = Redis(tmp_path)
    redis.start()
    smtp = ScriptedSmtp()
    port = free_port()
    try:
        with SmtpServer(smtp) as server:
            env = environment(app.instance_path, app.config["DATABASE_URL"], redis.url, MAIL_SERVER="127.0.0.1",
                              MAIL_PORT=server.port, MAIL_TIMEOUT=2, DELIVERY_LEASE_SECONDS=1,
                              BASE_URL=f"http://127.0.0.1:{port}")
            service = service_id(app, merchant)
            with web(env, port, tmp_path / "web.log"):
                browser = Browser(f"http://127.0.0.1:{port}")
                browser.login()

                def issue(name):
                    response = browser.issue(service, email=f"{name}@example.com", account=str(len(rows(app)) + 1))
                    assert response.status == 303, (name, response.status, response.text[:300])
                    return response.headers["Location"]

                def sent(*names):
                    states = {d.recipient: d.state for d in rows(app)}
                    return all(states.get(f"{n}@example.com") == "sent" for n in names)

                consumer = worker(env, tmp_path / "worker.log")
                try:
                    issue("before")
                    wait_for(lambda: sent("before"), what="the first delivery")

                    # Redis goes away: issuing still works (the outbox row is the record), pages
                    # still read, the health check names the queue.
                    redis.kill()
                    during = issue("during")
                    assert browser.get(during).status == 200 and browser.get("/invoices").status == 200
                    health = browser.get("/healthz")
                    assert health.status == 503 and json.loads(health.text)["queue"].startswith("error")
                    # The payer's card form hands the bank's answer to the queue: a clear 503, the
                    # payment still waiting, and the same form works once Redis is back.
                    payer = Browser(f"http://127.0.0.1:{port}")
                    link = "/i/" + token_of(app, during)
                    card = payer.post(f"{link}/pay", {"csrf_token": payer.csrf(link)}).headers["Location"]
                    card = card.removeprefix(f"http://127.0.0.1:{port}")
                    details = {"number": "4242 4242 4242 4242", "expiry": "12/40", "cvc": "123",
                               "holder": "IVAN IVANOV"}
                    refused = payer.post(card, {"csrf_token": payer.csrf(card), **details})
                    assert refused.status == 503 and "Сервис временно недоступен" in refused.text
                    assert invoice_status(app, during) == "issued"

                    # Redis is back, empty: the running consumer and the web app reconnect.
                    redis.start()
                    issue("after")
                    wait_for(lambda: sent("after"), what="a delivery queued after the restart")
                    assert [d.state for d in rows(app, recipient="during@example.com")] == ["pending"]
                    # The sweeper (every minute; run now) finds the row whose task never got queued.
                    wait_for(lambda: rows(app, recipient="during@example.com")[0].lease_until < utcnow(),
                             what="the grace of the row")
                    assert flask(env, "jobs", "run", "sweep").stdout.strip() == "sweep: 1"
                    wait_for(lambda: sent("during"), what="the delivery issued while Redis was down")
                    assert payer.post(card, {"csrf_token": payer.csrf(card), **details}).status == 303
                    wait_for(lambda: invoice_status(app, during) == "paid", what="the payment once Redis is back")
                    wait_for(lambda: all(d.state == "sent" for d in rows(app)), what="the paid notices")
                finally:
                    consumer.stop()

                # Tasks sitting in Redis when it dies are gone with it; the outbox is not.
                issue("queued")
                redis.kill()
                redis.start()
                # A consumer sweeps when it starts; by then the row's grace must be over.
                wait_for(lambda: rows(app, recipient="queued@example.com")[0].lease_until < utcnow(),
                         what="the grace of the lost row")
                with worker(env, tmp_path / "worker2.log"):
                    wait_for(lambda: sent("queued"), what="the delivery whose queued task Redis lost")
                    assert browser.get("/healthz").status == 200
    finally:
        if redis.process:
            redis.kill()
    outbox = rows(app)
    assert {n: sum(d.recipient == f"{n}@example.com" for d in outbox)
            for n in ("before", "during", "after", "queued")} == {"before": 1, "during": 2, "after": 1, "queued": 1}
    assert all(d.state == "sent" and d.attempts == 1 for d in outbox)
    # Exactly once: every outbox row arrived, none twice.
    assert sorted(message_ids(smtp.accepted)) == sorted(d.message_id for d in outbox)


def token_of(app, location):
    with app.app_context(), db.connection_context():
        return Invoice.get(Invoice.number == int(location.rsplit("/", 1)[1])).token


def invoice_status(app, location):
    with app.app_context(), db.connection_context():
        return Invoice.get(Invoice.number == int(location.rsplit("/", 1)[1])).status


@pytest.mark.skipif(not REDIS, reason="redis-server is not installed")
def test_a_hung_redis_costs_seconds_not_the_request(app, merchant, tmp_path):
    """Redis stopped dead (SIGSTOP: connections open, nothing answers), as on a frozen VM or a
    network partition: issuing waits a bounded few seconds, then succeeds from the outbox."""
    import signal
    import time

    redis = Redis(tmp_path)
    redis.start()
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], redis.url, BASE_URL=f"http://127.0.0.1:{port}",
                      DELIVERY_LEASE_SECONDS=1)
    try:
        with web(env, port, tmp_path / "web.log"):
            browser = Browser(f"http://127.0.0.1:{port}")
            browser.login()
            redis.process.proc.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                response = browser.request("/invoices/new", None, timeout=20)  # no queue involved
                assert response.status == 200 and time.monotonic() - started < 2
                started = time.monotonic()
                token = browser.csrf("/invoices/new")
                response = browser.request("/invoices", {
                    "csrf_token": token, "service": str(service_id(app, merchant)),
                    "payer_email": "frozen@example.com", "payer_phone": "", "req-account": "5",
                    "req-fio": "Ф", "validity_hours": "24", "amount": "10"}, timeout=25)
                waited = time.monotonic() - started
                assert response.status == 303 and waited < 10, (response.status, waited)
                health = browser.request("/healthz", timeout=25)
                assert health.status == 503
            finally:
                redis.process.proc.send_signal(signal.SIGCONT)
    finally:
        redis.kill()
    assert [d.state for d in rows(app)] == ["pending"]  # left to the sweeper, not lost
