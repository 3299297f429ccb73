"""Every queue task and periodic job. Tasks take ids and open their own app context."""
import functools
import threading
from contextlib import contextmanager

from flask import has_app_context
from huey import crontab

from .extensions import db, huey


_building = threading.Lock()


def _worker_app():
    """The app of a consumer process, built once, by whichever of its threads comes first."""
    with _building:
        return _built_app()


@functools.cache
def _built_app():
    from . import create_app

    return create_app()


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
    with _worker_app().app_context(), db.connection_context():
        yield


@huey.task()
def send_delivery(delivery_id):
    """Send one outbox row (retries are scheduled by the row itself, with backoff)."""
    from . import deliveries

    with task_scope():
        return deliveries.deliver(delivery_id)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("sweep-deliveries")
def sweep_deliveries():
    """Every minute: re-enqueue deliveries whose task was lost; drop day-old rate counters."""
    from . import deliveries, limits

    with task_scope():
        limits.forget_old()
        return deliveries.sweep()


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("expire-invoices")
def expire_invoices():
    """Every minute: expire every issued invoice whose time has passed."""
    from . import transitions

    with task_scope():
        return transitions.expire_overdue()


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("settle-payments")
def settle_payments():
    """Every minute: card-paid invoices past the settlement delay become «Проведен»."""
    from . import card_payments

    with task_scope():
        return card_payments.settle_due()


@huey.task(retries=8, retry_delay=5)
def notify_demo_payment(provider_payment_id, status):
    """The demo gateway's signed notification, posted to our callback like a real gateway's."""
    from .gateways import demo

    with task_scope():
        return demo.send_notification(provider_payment_id, status)


JOBS = {"sweep": sweep_deliveries, "expire": expire_invoices, "settle": settle_payments}
