"""The outbox: every e-mail and SMS is a row, written with the change that causes it.

A row is leased (state "sending", lease_until) before it is sent and marked
"sent" after, so two workers never send it both; the sweeper re-enqueues rows
whose lease ran out (a worker died, or the queue lost the task).
"""
from datetime import timedelta

from flask import current_app

from . import accounts, mailer, messages, sms
from .database import utcnow
from .extensions import db
from .models import Delivery, Invoice, InvoiceEvent, Merchant, new_token
from .sms import http as sms_http

MAX_ATTEMPTS = 6
SENT_EVENTS = {"email": "email_sent", "sms": "sms_sent"}


def grace():
    """How long the sweeper leaves a new or leased row alone before assuming it lost."""
    return timedelta(seconds=int(current_app.config["DELIVERY_LEASE_SECONDS"]))


def add(merchant_id, invoice_id, channel, kind, recipient):
    """Queue one message in the caller's transaction; returns the row."""
    return Delivery.create(
        merchant=merchant_id, invoice=invoice_id, channel=channel, kind=kind, recipient=recipient,
        message_id=f"<{kind}.{new_token()}@ckbiz>", lease_until=utcnow() + grace())


def for_payer(invoice, kind):
    """The payer's e-mail and SMS for an invoice (whichever contacts it has, SMS within the daily cap)."""
    rows = []
    if invoice.payer_email:
        rows.append(add(invoice.merchant_id, invoice.number, "email", kind, invoice.payer_email))
    if invoice.payer_phone:
        if not sms_cap_reached(invoice.merchant_id):
            rows.append(add(invoice.merchant_id, invoice.number, "sms", kind, invoice.payer_phone))
        else:
            InvoiceEvent.create(invoice=invoice.number, kind="sms_limit", note=invoice.payer_phone)
    return rows


def sms_cap_reached(merchant_id):
    """True when the merchant's invoices caused SMS_DAILY_LIMIT SMS in the last 24 hours.

    Counted no further than the cap, so the check costs the same however many SMS a busy
    merchant sends (peewee wraps a limited query before counting it).
    """
    cap = int(current_app.config["SMS_DAILY_LIMIT"])
    recent = Delivery.select().where(Delivery.merchant == merchant_id, Delivery.channel == "sms",
                                     Delivery.created_at > utcnow() - timedelta(days=1))
    return recent.limit(cap).count() >= cap


def enqueue(rows):
    """Hand rows to the queue; call after the transaction that wrote them committed.

    The rows are already the record: when the queue is down (Redis restarting) the
    change that wrote them has happened and must not answer 500; the sweeper sends
    them once their grace is over.
    """
    from .tasks import send_delivery

    for row in rows:
        try:
            send_delivery(row.id)
        except Exception as exc:  # redis.ConnectionError, sqlite3 errors of the queue file, …
            current_app.logger.warning("queue unavailable, delivery %s left to the sweeper: %s", row.id, exc)


def lease(delivery_id):
    """Take the row for sending; None when it is sent, failed, or leased by someone else."""
    now = utcnow()
    # Long enough for the slowest send, e-mail or SMS (each may wait its timeout several
    # times: connect, data, answer), or a sweep would think a slow send lost and repeat it.
    slowest = max(float(current_app.config["MAIL_TIMEOUT"]), sms_http.timeout_of(current_app.config))
    hold = timedelta(seconds=3 * slowest) + grace()
    taken = (Delivery.update(state="sending", lease_until=now + hold, attempts=Delivery.attempts + 1)
             .where(Delivery.id == delivery_id,
                    (Delivery.state == "pending")
                    | ((Delivery.state == "sending") & (Delivery.lease_until < now)))
             .returning(Delivery).execute())
    return next(iter(taken), None)


def deliver(delivery_id):
    """Send one leased row and record the outcome; returns the final state or None."""
    delivery = lease(delivery_id)
    if delivery is None:
        return None
    lifetime = _short_lived().get(delivery.kind)
    if lifetime and delivery.created_at < utcnow() - lifetime:
        # Whoever asked has stopped waiting; a password or code arriving now only confuses.
        return _failed(delivery, sms.SmsError("request older than the code's lifetime", retryable=False))
    # Read once, for the ownership check and for the message itself.
    invoice = (Invoice.select(Invoice, Merchant).join(Merchant).where(Invoice.number == delivery.invoice_id)
               .get_or_none() if delivery.invoice_id else None)
    problem = _ownership_problem(delivery, invoice)
    if problem:
        return _failed(delivery, NotOwned(problem))
    try:
        if delivery.channel == "email":
            mailer.send(messages.email(delivery, invoice))
        else:
            sms.backend_from_config(current_app.config).send(delivery.recipient,
                                                             messages.sms_text(delivery, invoice))
    except (mailer.MailError, sms.SmsError) as exc:
        return _failed(delivery, exc)
    except Exception as exc:  # a bug must not leave the row leased forever
        current_app.logger.exception("delivery %s crashed", delivery.id)
        return _failed(delivery, exc)
    with db.atomic():
        Delivery.update(state="sent", sent_at=utcnow(), last_error="", lease_until=None).where(
            Delivery.id == delivery.id).execute()
        if delivery.invoice_id:
            InvoiceEvent.create(invoice=delivery.invoice_id, kind=SENT_EVENTS[delivery.channel],
                                note=delivery.recipient)
    return "sent"


class NotOwned(Exception):
    """An outbox row whose merchant does not own what it would send: never sent, never retried."""

    retryable = False


def _ownership_problem(delivery, invoice):
    """Why the row must not be sent, or None.

    The task runs later than the request that wrote the row and trusts only what it
    re-reads now: one merchant's invoice never goes out on another merchant's row,
    and a temporary password only ever goes to its own merchant's phone.
    """
    if delivery.invoice_id:
        if invoice is None or invoice.merchant_id != delivery.merchant_id:
            return f"invoice {delivery.invoice_id} is not merchant {delivery.merchant_id}'s"
    elif delivery.kind == "password":
        phone = Merchant.select(Merchant.phone).where(Merchant.id == delivery.merchant_id).scalar()
        if phone != delivery.recipient:
            return "temporary password addressed to another phone than the merchant's"
    return None


def _short_lived():
    """Kinds whose message is worthless once its secret would have expired."""
    from .registration import CODE_LIFETIME

    return {"password": accounts.TEMP_LIFETIME, "register_code": CODE_LIFETIME}


def _failed(delivery, error):
    """Schedule a retry with backoff, or give up after the budget; keep the error visible."""
    from .tasks import send_delivery

    retry = getattr(error, "retryable", True) and delivery.attempts < MAX_ATTEMPTS
    message = str(error)[:500]
    if not retry:
        Delivery.update(state="failed", last_error=message, lease_until=None).where(
            Delivery.id == delivery.id).execute()
        current_app.logger.warning("delivery %s failed: %s", delivery.id, message)
        return "failed"
    backoff = current_app.config["DELIVERY_BACKOFF_SECONDS"]
    delay = int(backoff[min(delivery.attempts, len(backoff)) - 1])
    Delivery.update(state="pending", last_error=message,
                    lease_until=utcnow() + timedelta(seconds=delay) + grace()).where(
        Delivery.id == delivery.id).execute()
    send_delivery.schedule((delivery.id,), delay=delay)
    return "pending"


def stale():
    """Rows nobody is looking after: pending or sending past their lease."""
    return Delivery.select(Delivery.id).where(
        Delivery.state.in_(("pending", "sending")), Delivery.lease_until < utcnow())


def sweep():
    """Re-enqueue every stale row; returns how many.

    A row still "sending" after its last allowed attempt belongs to a worker that
    died mid-send every time: give up on it visibly instead of looping.
    """
    Delivery.update(state="failed", last_error="worker stopped while sending", lease_until=None).where(
        Delivery.state == "sending", Delivery.lease_until < utcnow(),
        Delivery.attempts >= MAX_ATTEMPTS).execute()
    rows = list(stale())
    enqueue(rows)
    return len(rows)


def retry_failed():
    """Put failed rows back in the queue with a fresh budget; returns how many."""
    with db.atomic():
        rows = list(Delivery.select(Delivery.id).where(Delivery.state == "failed"))
        Delivery.update(state="pending", attempts=0, lease_until=utcnow() + grace()).where(
            Delivery.state == "failed").execute()
    enqueue(rows)
    return len(rows)

