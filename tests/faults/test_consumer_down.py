"""The consumer down across many minutes: when it starts again, expiry, settlement and the
outbox sweeper catch up at once (not at the next cron minute, not just this minute's share),
and each invoice moves, and each message goes out, exactly once."""
from datetime import timedelta

from faultkit import ScriptedSmtp, SmtpServer, queue, recipients, rows  # noqa: F401
from ckbiz.database import utcnow
from ckbiz.extensions import db, huey, make_huey
from ckbiz.models import Delivery, Invoice, InvoiceEvent
from factories import make_invoice
from live import environment, flask, wait_for, worker


def statuses(app, invoices):
    with app.app_context(), db.connection_context():
        return [Invoice.get_by_id(i.id).status for i in invoices]


def test_a_consumer_started_after_a_long_outage_catches_up(app, merchant, queue, tmp_path):
    now = utcnow()
    huey.immediate = False  # issue "while the queue is down": the tasks are lost below
    overdue = [make_invoice(app, merchant, key=str(n), email=f"late{n}@example.com", phone=None,
                            expires_at=now - timedelta(minutes=m)) for n, m in enumerate((1, 47, 600))]
    current = make_invoice(app, merchant, key="9", email="current@example.com", phone=None)
    settled_due = make_invoice(app, merchant, key="10", email=None, phone=None, status="paid", paid_by="card",
                               paid_at=now - timedelta(minutes=1441))
    not_yet = make_invoice(app, merchant, key="11", email=None, phone=None, status="paid", paid_by="card",
                           paid_at=now - timedelta(minutes=30))
    make_huey(queue).flush()
    huey.flush()
    with app.app_context(), db.connection_context():
        # Minutes went by: every outbox row is past its grace, and no task is queued for it.
        Delivery.update(lease_until=now - timedelta(minutes=5)).execute()
    assert [d.state for d in rows(app)] == ["pending"] * 4

    smtp = ScriptedSmtp()
    with SmtpServer(smtp) as server:
        env = environment(app.instance_path, app.config["DATABASE_URL"], queue, MAIL_SERVER="127.0.0.1",
                          MAIL_PORT=server.port, MAIL_TIMEOUT=2)
        with worker(env, tmp_path / "worker.log"):
            wait_for(lambda: statuses(app, overdue + [settled_due]) == ["expired"] * 3 + ["transferred"],
                     timeout=15, what="expiry and settlement on start")
            wait_for(lambda: [d.state for d in rows(app)] == ["sent"] * 4, timeout=15,
                     what="the lost deliveries")
            assert statuses(app, [current, not_yet]) == ["issued", "paid"]
            # A second run (the next cron minute, an operator) finds nothing left to do.
            assert flask(env, "jobs", "run", "expire").stdout.strip() == "expire: 0"
            assert flask(env, "jobs", "run", "settle").stdout.strip() == "settle: 0"
    assert recipients(smtp.accepted) == sorted(["current@example.com"] + [f"late{n}@example.com" for n in range(3)])
    with app.app_context(), db.connection_context():
        moved = [(e.invoice_id, e.kind) for e in InvoiceEvent.select().where(
            InvoiceEvent.kind.in_(("expired", "transferred")))]
    assert sorted(moved) == sorted([(i.id, "expired") for i in overdue] + [(settled_due.id, "transferred")])


class WriteHold:
    """Another connection holding the invoice table against writes, like a long migration."""

    def __init__(self, url):
        self.url = url

    def __enter__(self):
        if self.url.startswith("sqlite"):
            import sqlite3

            self.conn = sqlite3.connect(self.url[len("sqlite:///"):], isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg2

            self.conn = psycopg2.connect(self.url)
            self.conn.cursor().execute("LOCK TABLE invoice IN EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc):
        self.conn.rollback()
        self.conn.close()


def test_a_consumer_killed_inside_a_periodic_job_does_not_stop_that_job_for_good(app, merchant, queue, tmp_path):
    """SIGKILL while the expiry job runs leaves its task lock behind in the queue storage; the
    next consumer must still run the job (the lock belongs to a dead process)."""
    invoice = make_invoice(app, merchant, email=None, phone=None, expires_at=utcnow() - timedelta(minutes=5))
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue, DATABASE_TIMEOUT=15)
    with WriteHold(app.config["DATABASE_URL"]):
        consumer = worker(env, tmp_path / "worker-killed.log")
        try:
            wait_for(lambda: make_huey(queue).is_locked("expire-invoices"), timeout=10,
                     what="the expiry job to start (and wait for the table)")
            consumer.proc.kill()
            consumer.proc.wait(10)
        finally:
            consumer.stop()
    assert statuses(app, [invoice]) == ["issued"]
    with worker(env, tmp_path / "worker-restarted.log"):
        wait_for(lambda: statuses(app, [invoice]) == ["expired"], timeout=10, what="expiry after the restart")
