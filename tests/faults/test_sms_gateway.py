"""The SMS gateway misbehaving under a real worker: HTTP 500, 429 and a hang are retried with
backoff until one SMS goes out; a rejection, or an outage longer than the retry budget,
ends as a failed delivery the merchant can see. The gateway is tests/sms_gateway.py's local
server speaking the SMS.ru protocol."""
import time
from contextlib import contextmanager

import pytest

from faultkit import Browser, error_of, invoice_page, queue, rows, service_id  # noqa: F401
from ckbiz import tasks
from ckbiz.delivery import runner
from ckbiz.delivery.runner import MAX_ATTEMPTS
from ckbiz.extensions import db
from conftest import free_port
from live import environment, flask, wait_for, web, worker
from sms_gateway import API_KEY, NUMBER, PHONE, smsru_number_error, smsru_ok

# A one-second gateway timeout and retries a second apart: the retry budget runs out in seconds.
QUICK = {"SMS_TIMEOUT": 1, "MAIL_TIMEOUT": 1, "DELIVERY_BACKOFF_SECONDS": [1, 1, 1, 1, 1],
         "DELIVERY_LEASE_SECONDS": 1}


class Cabinet:
    """The merchant logged in on a live web process, and the environment of its processes."""

    def __init__(self, app, merchant, browser, env):
        self.app, self.merchant, self.browser, self.env = app, merchant, browser, env

    def issue(self):
        """Issue an invoice whose only message is an SMS to PHONE; returns its number."""
        response = self.browser.issue(service_id(self.app, self.merchant), email="", phone=PHONE)
        assert response.status == 303, response.text[:300]
        return response.headers["Location"].rsplit("/", 1)[1]


@contextmanager
def live_cabinet(app, merchant, queue, provider, tmp_path, **settings):
    """Web and worker processes sending SMS through the fake gateway with these settings.

    The test's own app gets the same ones, so a send task it runs in-process would go to
    the same gateway as the worker's.
    """
    port = free_port()
    sms = {"SMS_BACKEND": "smsru", "SMS_API_KEY": API_KEY, "SMS_API_URL": provider.url, **settings}
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue, BASE_URL=f"http://127.0.0.1:{port}",
                      **sms)
    app.config.update(sms)
    with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.login()
        yield Cabinet(app, merchant, browser, env)


@pytest.fixture
def cabinet(app, merchant, queue, provider, tmp_path):
    """A live cabinet whose SMS time out after a second and are retried a second apart."""
    with live_cabinet(app, merchant, queue, provider, tmp_path, **QUICK) as cabinet:
        yield cabinet


def sms_row(app):
    [row] = rows(app, channel="sms")
    return row


def nothing_left_to_send(app, delivery_id):
    """Do now what a late duplicate would do later, and check it sends nothing: the sweep finds
    no row it takes for lost, and the send task run once more (a retry queued twice, a row
    swept while still on its way) finds the row no longer its to send."""
    with app.app_context():
        with db.connection_context():
            assert runner.sweep() == []
        assert tasks.send_delivery.call_local(delivery_id) is None


def test_gateway_500_429_and_hang_are_retried_then_one_sms_goes_out(app, provider, cabinet):
    provider.reply("Internal Server Error", 500)
    provider.reply({"status": "ERROR"}, 429)
    provider.hang()
    provider.reply(smsru_ok("4242-1"))
    number = cabinet.issue()
    wait_for(lambda: sms_row(app).state == "pending" and "500" in sms_row(app).last_error, what="the 500")
    page = invoice_page(cabinet.browser, number)
    assert "ожидает отправки" in page and any("HTTP 500" in e for e in error_of(page))
    started = time.monotonic()
    wait_for(lambda: sms_row(app).state == "sent", timeout=15, what="the SMS after 500, 429 and a hang")
    assert time.monotonic() - started < 12  # the hang cost SMS_TIMEOUT, not the gateway's 30 s
    # Every attempt was counted when its lease was taken, and a sent row is never leased again.
    nothing_left_to_send(app, sms_row(app).id)
    assert [r["fields"]["to"] for r in provider.requests] == [NUMBER] * 4
    assert len(provider.script) == 0 and sms_row(app).attempts == 4
    assert "отправлено" in invoice_page(cabinet.browser, number)
    assert API_KEY not in invoice_page(cabinet.browser, number)


def test_gateway_rejecting_the_number_fails_at_once_visibly(app, provider, cabinet):
    provider.reply(smsru_number_error(207, "На этот номер нет маршрута"))
    number = cabinet.issue()
    wait_for(lambda: sms_row(app).state == "failed", what="the rejection")
    nothing_left_to_send(app, sms_row(app).id)  # no retry follows
    assert len(provider.requests) == 1 and sms_row(app).attempts == 1
    page = invoice_page(cabinet.browser, number)
    assert "не отправлено" in page and any("207" in e and "нет маршрута" in e for e in error_of(page))


def test_gateway_down_longer_than_the_retry_budget_ends_failed_and_visible(app, provider, cabinet):
    number = cabinet.issue()  # an empty script answers every request 500
    wait_for(lambda: sms_row(app).state == "failed", timeout=18, what="the retry budget to run out")
    nothing_left_to_send(app, sms_row(app).id)
    assert len(provider.requests) == MAX_ATTEMPTS and sms_row(app).attempts == MAX_ATTEMPTS
    page = invoice_page(cabinet.browser, number)
    assert "не отправлено" in page and any("HTTP 500" in e for e in error_of(page))
    assert API_KEY not in page


def test_a_slow_gateway_keeps_its_lease_so_the_sweeper_sends_no_second_sms(app, merchant, queue, provider, tmp_path):
    """The gateway accepts only after a lease sized for e-mail alone (3 × MAIL_TIMEOUT + the
    grace) has run out, well within SMS_TIMEOUT; a sweep meanwhile must not take the row as
    lost and send the payer a second SMS."""
    mail_timeout, grace = 0.5, 1
    provider.hold(smsru_ok("slow-1"))
    with live_cabinet(app, merchant, queue, provider, tmp_path, SMS_TIMEOUT=20, MAIL_TIMEOUT=mail_timeout,
                      DELIVERY_LEASE_SECONDS=grace) as cabinet:
        cabinet.issue()
        [request] = wait_for(lambda: list(provider.requests), what="the SMS reaching the gateway")
        assert rows(app)[0].state == "sending"
        # The row was leased before the gateway heard of it: once this moment has passed, a
        # lease sized for e-mail alone has run out, while the gateway is still thinking.
        email_lease_over = request["at"] + 3 * mail_timeout + grace
        wait_for(lambda: time.time() > email_lease_over, what="a lease sized for e-mail to run out")
        assert flask(cabinet.env, "jobs", "run", "sweep").stdout.strip() == "sweep: 0"
        provider.let_go.set()
        wait_for(lambda: rows(app)[0].state == "sent", timeout=10, what="the slow SMS")
        nothing_left_to_send(app, rows(app)[0].id)
    assert len(provider.requests) == 1 and rows(app)[0].attempts == 1
