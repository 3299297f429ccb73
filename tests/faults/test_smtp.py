"""E-mail deliveries through a real web process, a real worker and a real SMTP server that
misbehaves: the worker killed mid-send, 4xx, 5xx, a server that never answers.

Connection refused, then the server back, is proven in tests/test_worker.py.
"""
from faultkit import (Browser, ScriptedSmtp, SmtpServer, error_of, invoice_page, message_ids, queue,  # noqa: F401
                      rows, service_id)
from ckbiz import tasks
from ckbiz.database import utcnow
from ckbiz.extensions import db
from conftest import free_port
from live import environment, wait_for, web, worker


def settings(app, queue_url, smtp_port, web_port, **extra):
    return environment(app.instance_path, app.config["DATABASE_URL"], queue_url, MAIL_SERVER="127.0.0.1",
                       MAIL_PORT=smtp_port, BASE_URL=f"http://127.0.0.1:{web_port}",
                       DELIVERY_BACKOFF_SECONDS="[1, 1, 1, 1, 1]", DELIVERY_LEASE_SECONDS=1,
                       SMS_TIMEOUT=1, **extra)  # a lease lasts 3 × the slower channel's timeout + the grace


def nothing_left_to_send(app, smtp_port):
    """What waiting for a duplicate or a late retry was meant to show, shown at once.

    With the worker stopped, this process runs the sweep and then the send job for every
    row, as a stray task or a sweeper would: the sweep re-queues nothing, the job sends
    nothing and no row changes state or spends an attempt. Its mail would go to the same
    server as the worker's, where the test counts what arrived.
    """
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port)
    before = [(row.id, row.state, row.attempts) for row in rows(app)]
    with app.app_context(), db.connection_context():
        assert tasks.sweep_deliveries.call_local() == 0
        assert [tasks.send_delivery.call_local(row_id) for row_id, _, _ in before] == [None] * len(before)
    assert [(row.id, row.state, row.attempts) for row in rows(app)] == before


def issue_one(app, merchant, port, email="payer@example.com"):
    browser = Browser(f"http://127.0.0.1:{port}")
    browser.login()
    response = browser.issue(service_id(app, merchant), email=email)
    assert response.status == 303, response.text
    return browser, response.headers["Location"].rsplit("/", 1)[1]


def test_worker_killed_mid_delivery_is_resent_and_arrives_once(app, merchant, queue, tmp_path):
    """SIGKILL while the server holds the DATA unanswered: the server never accepted it, the
    row stays leased; once the lease runs out a restarted worker's sweeper resends it, once."""
    smtp = ScriptedSmtp(["hang"])
    port = free_port()
    with SmtpServer(smtp) as server:
        env = settings(app, queue, server.port, port, MAIL_TIMEOUT=2)
        with web(env, port, tmp_path / "web.log"):
            browser, number = issue_one(app, merchant, port)
            consumer = worker(env, tmp_path / "worker-killed.log")
            try:
                wait_for(lambda: smtp.seen, what="the message data reaching the server")
                consumer.proc.kill()
                consumer.proc.wait(10)
            finally:
                consumer.stop()
            [row] = rows(app)
            assert (row.state, row.attempts, smtp.accepted) == ("sending", 1, [])
            assert "отправляется" in invoice_page(browser, number)
            # Until the dead worker's lease runs out nobody may touch the row; after it, the
            # sweeper of a (re)started worker re-enqueues it (periodic jobs run at start).
            wait_for(lambda: rows(app)[0].lease_until < utcnow(), timeout=15, what="the lease to run out")
            with worker(env, tmp_path / "worker-restarted.log"):
                wait_for(lambda: rows(app)[0].state == "sent", timeout=15, what="the resend")
            nothing_left_to_send(app, server.port)  # no duplicate can follow
            assert len(smtp.accepted) == 1 and len(smtp.seen) == 2
            assert message_ids(smtp.accepted) == message_ids(smtp.seen[:1])
            assert smtp.accepted[0]["To"] == "payer@example.com"
            assert rows(app)[0].attempts == 2
            assert "отправлено" in invoice_page(browser, number)


def test_smtp_4xx_is_retried_with_backoff_then_sent_once(app, merchant, queue, tmp_path):
    smtp = ScriptedSmtp(["451 4.3.0 Mailbox temporarily unavailable", "421 4.7.0 Try again later"])
    port = free_port()
    with SmtpServer(smtp) as server:
        env = settings(app, queue, server.port, port, MAIL_TIMEOUT=2)
        with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
            browser, number = issue_one(app, merchant, port)
            wait_for(lambda: rows(app)[0].last_error and rows(app)[0].state == "pending", what="the 451")
            page = invoice_page(browser, number)
            assert "ожидает отправки" in page and any("SMTP 451" in e for e in error_of(page))
            wait_for(lambda: rows(app)[0].state == "sent", timeout=15, what="the delivery after two refusals")
    assert len(smtp.seen) == 3 and len(smtp.accepted) == 1
    assert len(set(message_ids(smtp.seen))) == 1  # the same message each time
    gaps = [b - a for a, b in zip(smtp.seen_at, smtp.seen_at[1:])]
    assert all(gap >= 0.9 for gap in gaps), gaps  # backoff, not a hot loop
    [row] = rows(app)
    assert (row.attempts, row.last_error) == (3, "")


def test_smtp_5xx_fails_at_once_and_the_merchant_sees_why(app, merchant, queue, tmp_path):
    smtp = ScriptedSmtp(["554 5.7.1 Message rejected as spam"])
    port = free_port()
    with SmtpServer(smtp) as server:
        env = settings(app, queue, server.port, port, MAIL_TIMEOUT=2)
        with web(env, port, tmp_path / "web.log"):
            with worker(env, tmp_path / "worker.log"):
                browser, number = issue_one(app, merchant, port)
                wait_for(lambda: rows(app)[0].state == "failed", what="the permanent failure")
            nothing_left_to_send(app, server.port)  # no retry may follow
            page = invoice_page(browser, number)
    assert len(smtp.seen) == 1 and smtp.accepted == []
    [row] = rows(app)
    assert row.attempts == 1
    assert "не отправлено" in page and any("SMTP 554" in e and "spam" in e for e in error_of(page))


def test_recipient_refused_permanently_is_failed_not_retried(app, merchant, queue, tmp_path):
    smtp = ScriptedSmtp()
    smtp.rcpt_reply = "550 5.1.1 No such mailbox"
    port = free_port()
    with SmtpServer(smtp) as server:
        env = settings(app, queue, server.port, port, MAIL_TIMEOUT=2)
        with web(env, port, tmp_path / "web.log"):
            with worker(env, tmp_path / "worker.log"):
                browser, number = issue_one(app, merchant, port, email="nobody@example.com")
                wait_for(lambda: rows(app)[0].state == "failed", what="the refused recipient")
            nothing_left_to_send(app, server.port)  # no retry may follow
            page = invoice_page(browser, number)
    [row] = rows(app)
    assert row.attempts == 1 and smtp.seen == []
    assert "не отправлено" in page and any("550" in e and "nobody@example.com" in e for e in error_of(page))


def test_smtp_server_that_never_answers_times_out_and_is_retried(app, merchant, queue, tmp_path):
    """The server takes the data and goes silent: the worker gives up after MAIL_TIMEOUT (not
    hanging), the row goes back to pending with the timeout visible, and the retry is sent once."""
    smtp = ScriptedSmtp(["hang"], hang_for=10)
    port = free_port()
    with SmtpServer(smtp) as server:
        env = settings(app, queue, server.port, port, MAIL_TIMEOUT=1)
        with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
            browser, number = issue_one(app, merchant, port)
            wait_for(lambda: rows(app)[0].state == "pending" and "timed out" in rows(app)[0].last_error,
                     what="the timeout recorded")
            wait_for(lambda: rows(app)[0].state == "sent", timeout=15, what="the retry after the timeout")
        nothing_left_to_send(app, server.port)  # no duplicate can follow
    assert len(smtp.seen) == 2 and len(smtp.accepted) == 1
    assert smtp.seen_at[1] - smtp.seen_at[0] < 6  # gave up after the timeout, not after the server did
    [row] = rows(app)
    assert row.attempts == 2
