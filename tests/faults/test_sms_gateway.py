"""The SMS gateway misbehaving under a real worker: HTTP 500, 429 and a hang are retried with
backoff until one SMS goes out; a rejection, or an outage longer than the retry budget,
ends as a failed delivery the merchant can see. The gateway is tests/sms_gateway.py's local
server speaking the SMS.ru protocol."""
import time

import pytest

from faultkit import Browser, error_of, invoice_page, queue, rows, service_id  # noqa: F401
from ckbiz.delivery.runner import MAX_ATTEMPTS
from conftest import free_port
from live import environment, wait_for, web, worker
from sms_gateway import API_KEY, NUMBER, PHONE, smsru_number_error, smsru_ok


@pytest.fixture
def cabinet(app, merchant, queue, provider, tmp_path):
    """Web and worker processes sending SMS through the fake gateway; yields (browser, issue)."""
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue, BASE_URL=f"http://127.0.0.1:{port}",
                      SMS_BACKEND="smsru", SMS_API_KEY=API_KEY, SMS_API_URL=provider.url, SMS_TIMEOUT=1,
                      MAIL_TIMEOUT=1, DELIVERY_BACKOFF_SECONDS="[1, 1, 1, 1, 1]", DELIVERY_LEASE_SECONDS=1)
    with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.login()

        def issue():
            response = browser.issue(service_id(app, merchant), email="", phone=PHONE)
            assert response.status == 303, response.text[:300]
            return response.headers["Location"].rsplit("/", 1)[1]

        yield browser, issue


def sms_row(app):
    [row] = rows(app, channel="sms")
    return row


def test_gateway_500_429_and_hang_are_retried_then_one_sms_goes_out(app, provider, cabinet):
    browser, issue = cabinet
    provider.reply("Internal Server Error", 500)
    provider.reply({"status": "ERROR"}, 429)
    provider.hang()
    provider.reply(smsru_ok("4242-1"))
    number = issue()
    wait_for(lambda: sms_row(app).state == "pending" and "500" in sms_row(app).last_error, what="the 500")
    page = invoice_page(browser, number)
    assert "ожидает отправки" in page and any("HTTP 500" in e for e in error_of(page))
    started = time.monotonic()
    wait_for(lambda: sms_row(app).state == "sent", timeout=15, what="the SMS after 500, 429 and a hang")
    assert time.monotonic() - started < 12  # the hang cost SMS_TIMEOUT, not the gateway's 30 s
    time.sleep(1.5)  # room for a duplicate
    assert [r["fields"]["to"] for r in provider.requests] == [NUMBER] * 4
    assert len(provider.script) == 0 and sms_row(app).attempts == 4
    assert "отправлено" in invoice_page(browser, number)
    assert API_KEY not in invoice_page(browser, number)


def test_gateway_rejecting_the_number_fails_at_once_visibly(app, provider, cabinet):
    browser, issue = cabinet
    provider.reply(smsru_number_error(207, "На этот номер нет маршрута"))
    number = issue()
    wait_for(lambda: sms_row(app).state == "failed", what="the rejection")
    time.sleep(2)  # no retry follows
    assert len(provider.requests) == 1 and sms_row(app).attempts == 1
    page = invoice_page(browser, number)
    assert "не отправлено" in page and any("207" in e and "нет маршрута" in e for e in error_of(page))


def test_gateway_down_longer_than_the_retry_budget_ends_failed_and_visible(app, provider, cabinet):
    browser, issue = cabinet  # an empty script answers every request 500
    number = issue()
    wait_for(lambda: sms_row(app).state == "failed", timeout=18, what="the retry budget to run out")
    time.sleep(1.5)
    assert len(provider.requests) == MAX_ATTEMPTS and sms_row(app).attempts == MAX_ATTEMPTS
    page = invoice_page(browser, number)
    assert "не отправлено" in page and any("HTTP 500" in e for e in error_of(page))
    assert API_KEY not in page


def test_a_slow_gateway_keeps_its_lease_so_the_sweeper_sends_no_second_sms(app, merchant, queue, tmp_path):
    """The gateway takes 7 s to accept (within SMS_TIMEOUT = 9 s); a sweep meanwhile must not
    take the row as lost and send the payer a second SMS."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from live import flask

    accepted = []

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(7)
            body = json.dumps(smsru_ok(f"slow-{len(accepted)}")).encode()
            accepted.append(time.monotonic())
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue, BASE_URL=f"http://127.0.0.1:{port}",
                      SMS_BACKEND="smsru", SMS_API_KEY=API_KEY, SMS_API_URL=f"http://127.0.0.1:{server.server_address[1]}",
                      SMS_TIMEOUT=9, MAIL_TIMEOUT=1, DELIVERY_LEASE_SECONDS=1)
    try:
        with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
            browser = Browser(f"http://127.0.0.1:{port}")
            browser.login()
            assert browser.issue(service_id(app, merchant), email="", phone=PHONE).status == 303
            wait_for(lambda: rows(app)[0].state == "sending", what="the SMS being sent")
            # 3 × MAIL_TIMEOUT + the grace = 4 s: a lease sized for e-mail alone has run out by now,
            # while the gateway is still thinking.
            time.sleep(4.5)
            assert flask(env, "jobs", "run", "sweep").stdout.strip() == "sweep: 0"
            wait_for(lambda: rows(app)[0].state == "sent", timeout=10, what="the slow SMS")
            time.sleep(1)
    finally:
        server.shutdown()
        server.server_close()
    assert len(accepted) == 1 and rows(app)[0].attempts == 1
