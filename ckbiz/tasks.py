"""Every queue task and periodic job, and the one place anything is put on the queue.

Tasks take ids, never rows, and run in an app context of their own; outbox rows are
queued by `send()` once the transaction that wrote them has committed.
"""
from contextlib import contextmanager

from flask import current_app, has_app_context
from huey import crontab

from .delivery import runner
from .domain import cards, guards, idempotency, lifecycle, outbox, reminders, sessions
from .extensions import db, huey, urgent_huey
from .gateways import demo

# The app the consumer's tasks run in: the one the factory built last in this process
# (`flask --app app worker` builds it before any worker thread starts).
_app = None


def init_app(app):
    """Make this app the one tasks run in when they are not called inside a request."""
    global _app
    _app = app


@contextmanager
def task_scope():
    """An app context and a database connection, reusing the caller's when it has them.

    In immediate mode (tests) a task runs inside the request that enqueued it and
    must not close that request's connection.
    """
    if has_app_context():
        opened = db.connect(reuse_if_open=True)
        try:
            yield
        finally:
            if opened:
                db.close()
        return
    with _app.app_context(), db.connection_context():
        yield


# Ordinary rows go out in tasks of up to BATCH rows: a task of its own per e-mail cost
# about as much as the e-mail (a queue read, an app context, a database connection), and
# 10,000 reminders are 10,000 tasks. Small enough that a slow server delays few rows.
BATCH = 20


def send(rows):
    """Put outbox rows on the queue; only after the transaction that wrote them committed.

    The rows are already the record: when the queue is down (Redis restarting) the
    change that wrote them has happened and must not answer 500; the sweeper sends
    them once their grace is over. An issued invoice's ordinary rows (its e-mail, SMS,
    copy, webhook event) are one task.
    """
    if db.in_transaction():
        raise RuntimeError("outbox rows are queued after the commit, never inside the transaction")
    _queue([(row.id, row.kind) for row in rows])


def _queue(rows):
    """Rows given as (id, kind): each of outbox.URGENT_KINDS a task of its own on the urgent
    queue, the others in tasks of up to BATCH, in order."""
    ordinary = []
    for delivery_id, kind in rows:
        if kind in outbox.URGENT_KINDS:
            _enqueue(send_urgent_delivery, delivery_id)
        else:
            ordinary.append(delivery_id)
    for start in range(0, len(ordinary), BATCH):
        _enqueue(send_deliveries, ordinary[start:start + BATCH])


def _enqueue(task, deliveries):
    """Put one task on its queue (`deliveries`: its argument, an id or a list of them), surviving a
    queue that is down."""
    try:
        task(deliveries)
    except Exception as exc:  # redis.ConnectionError, sqlite3 errors of the queue file, …
        current_app.logger.warning("queue unavailable, delivery %s left to the sweeper: %s", deliveries, exc)


def _deliver(retry, delivery_ids):
    """Send outbox rows one after the other on one connection; each that fails for a passing
    reason comes back alone (`retry`) after its backoff. One that raises leaves those after it
    to the sweeper, as a lost task would. Returns each row's state (None: not this task's to send)."""
    states = []
    with task_scope():
        for delivery_id in delivery_ids:
            outcome = runner.deliver(delivery_id)
            if outcome.retry_in is not None:
                retry.schedule((delivery_id,), delay=outcome.retry_in)
            states.append(outcome.state)
    return states


@huey.task()
def send_delivery(delivery_id):
    """An ordinary outbox row again, after a passing failure; its state."""
    return _deliver(send_delivery, [delivery_id])[0]


@huey.task()
def send_deliveries(delivery_ids):
    """Ordinary outbox rows (invoices, reminders, copies, webhook events), up to BATCH."""
    return _deliver(send_delivery, delivery_ids)


@urgent_huey.task()
def send_urgent_delivery(delivery_id):
    """A row that must not wait behind ordinary mail: about a payment, a password, a sign-up."""
    return _deliver(send_urgent_delivery, [delivery_id])[0]


def retry_failed():
    """Put failed deliveries back on the queue with a fresh budget; returns how many."""
    rows = runner.reset_failed()
    _queue(rows)
    return len(rows)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("sweep-deliveries")
def sweep_deliveries():
    """Every minute: re-queue deliveries whose task was lost; drop day-old rate counters, API
    answers kept for Idempotency-Key and sessions past their lifetime."""
    with task_scope():
        guards.forget_old_counters()
        idempotency.forget_old()
        sessions.forget_expired()
        rows = runner.sweep()
        _queue(rows)
    return len(rows)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("expire-invoices")
def expire_invoices(now=None):
    """Every minute: expire every issued invoice whose time has passed."""
    with task_scope():
        return lifecycle.expire_overdue(now)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("settle-payments")
def settle_payments(now=None):
    """Every minute: card-paid invoices past the settlement delay become «Проведен»."""
    with task_scope():
        return cards.settle_due(now)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("send-reminders")
def send_reminders(now=None):
    """Every minute: the automatic reminders now due (the lock is a courtesy: claiming is safe)."""
    with task_scope():
        rows = reminders.run_due(now)
    send(rows)
    return len(rows)


# On the urgent queue: a lost payment notification is a payer waiting, not ordinary mail.
@urgent_huey.periodic_task(crontab(minute="*"))
@urgent_huey.lock_task("reconcile-payments")
def reconcile_payments(now=None):
    """Every minute: payments pending too long are looked up at their own provider (a lost
    notification); how many changed."""
    with task_scope():
        changed, rows = cards.reconcile(now)
    send(rows)
    return changed


@urgent_huey.task(retries=8, retry_delay=5)
def notify_demo_payment(provider_payment_id, status):
    """The demo gateway's signed notification, posted to our callback like a real gateway's."""
    with task_scope():
        return demo.send_notification(provider_payment_id, status)


JOBS = {"sweep": sweep_deliveries, "expire": expire_invoices, "settle": settle_payments, "remind": send_reminders,
        "reconcile": reconcile_payments}
# The jobs that can run as if at another moment (`jobs run NAME --now ISO-TIME`).
TIMED_JOBS = ("expire", "settle", "remind", "reconcile")
