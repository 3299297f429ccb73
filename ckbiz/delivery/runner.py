"""Sending the outbox: lease a row, send it, record the outcome; sweep up what was lost.

A row is leased (state "sending", lease_until) before it is sent and marked
"sent" after, so two workers never send it both; the sweeper finds rows whose
lease ran out (a worker died, or the queue lost the task). Nothing here
enqueues: every function returns what should go to the queue, and when, and
`tasks` puts it there.
"""
from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from peewee import Case, Value

from ..database import Prepared, utcnow
from ..domain import accounts, team
from ..domain.outbox import grace
from ..extensions import db
from ..models import Delivery, Invoice, InvoiceEvent, Merchant, User
from . import mail, messages, sms, webhook
from .sms import http as sms_http

MAX_ATTEMPTS = 6
SENT_EVENTS = {"email": "email_sent", "sms": "sms_sent"}
# Kinds whose message is worthless once its secret would have expired.
SHORT_LIVED = {"password": accounts.TEMP_LIFETIME, "register_code": accounts.CODE_LIFETIME,
               "invite": team.INVITE_LIFETIME}
# Kinds that carry a secret of one user, made for that user as the SMS leaves.
USER_SECRETS = {"password": accounts.issue_temporary_password, "invite": team.issue_invitation_token}


class Outcome(NamedTuple):
    """What became of one attempt: the row's state, and in how many seconds to try again (or None)."""

    state: str | None
    retry_in: int | None = None


def lease(delivery_id):
    """Take the row for sending; None when it is sent, failed, or leased by someone else."""
    now = utcnow()
    # Long enough for the slowest send, e-mail or SMS (each may wait its timeout several
    # times: connect, data, answer), or a sweep would think a slow send lost and repeat it;
    # a webhook waits WEBHOOK_TIMEOUT alone.
    slowest = max(float(current_app.config["MAIL_TIMEOUT"]), sms_http.timeout_of(current_app.config))
    hold = timedelta(seconds=3 * slowest) + grace()
    hook_hold = timedelta(seconds=3 * webhook.timeout_of(current_app.config)) + grace()
    return _lease.first(delivery_id, now, now + hold, now + hook_hold)


# Every row sent runs these two: built once (peewee's building of them cost more than sending
# the e-mail over a kept connection).
@Prepared
def _lease(delivery_id, now, until, hook_until):
    """lease's statement: the row, now "sending" until `until` (a webhook's until `hook_until`)."""
    until = Case(None, [(Delivery.channel == "webhook", _when(hook_until))], _when(until))
    return (Delivery.update(state="sending", lease_until=until, attempts=Delivery.attempts + 1)
            .where(Delivery.id == delivery_id,
                   (Delivery.state == "pending") | ((Delivery.state == "sending") & (Delivery.lease_until < now)))
            .returning(Delivery))


@Prepared
def _invoice_with_merchant(invoice_id):
    """The invoice a row is about, with its merchant."""
    return Invoice.select(Invoice, Merchant).join(Merchant).where(Invoice.id == invoice_id)


def _when(moment):
    """A time as the lease column stores it, for a CASE (which knows no column to convert for it)."""
    return Value(moment, converter=Delivery.lease_until.db_value)


def deliver(delivery_id):
    """Send one leased row and record the outcome; Outcome(None) when someone else has it."""
    delivery = lease(delivery_id)
    if delivery is None:
        return Outcome(None)
    lifetime = SHORT_LIVED.get(delivery.kind)
    if lifetime and delivery.created_at < utcnow() - lifetime:
        # Whoever asked has stopped waiting; a password or code arriving now only confuses.
        return _failed(delivery, sms.SmsError("request older than the code's lifetime", retryable=False))
    # Read once, for the ownership check and for the message itself.
    invoice = _invoice_with_merchant.first(delivery.invoice_id) if delivery.invoice_id else None
    problem = _ownership_problem(delivery, invoice)
    if problem:
        return _failed(delivery, NotOwned(problem))
    try:
        if delivery.channel == "email":
            mail.send(messages.email(delivery, invoice))
        elif delivery.channel == "webhook":
            webhook.send(delivery, invoice)
        else:
            text = messages.sms_text(delivery, invoice, secret=_secret_for(delivery))
            sms.backend_from_config(current_app.config).send(delivery.recipient, text)
    except (mail.MailError, sms.SmsError, webhook.WebhookError) as exc:
        return _failed(delivery, exc)
    except Exception as exc:  # a bug must not leave the row leased forever
        current_app.logger.exception("delivery %s crashed", delivery.id)
        return _failed(delivery, exc)
    with db.atomic():
        Delivery.update(state="sent", sent_at=utcnow(), last_error="", lease_until=None).where(
            Delivery.id == delivery.id).execute()
        if delivery.invoice_id and delivery.channel in SENT_EVENTS:  # a webhook's log is its own page
            InvoiceEvent.create(invoice=delivery.invoice_id, kind=SENT_EVENTS[delivery.channel],
                                note=delivery.recipient)
    return Outcome("sent")


class NotOwned(Exception):
    """An outbox row whose merchant does not own what it would send: never sent, never retried."""

    retryable = False


def _ownership_problem(delivery, invoice):
    """Why the row must not be sent, or None.

    The task runs later than the request that wrote the row and trusts only what it
    re-reads now: one merchant's invoice never goes out on another merchant's row, and a
    temporary password or an invitation only ever goes to its own user's phone.
    """
    if delivery.invoice_id:
        if invoice is None or invoice.merchant_id != delivery.merchant_id:
            return f"invoice {delivery.invoice_id} is not merchant {delivery.merchant_id}'s"
    elif delivery.kind in USER_SECRETS:
        user = User.get_or_none(User.id == delivery.user_id) if delivery.user_id else None
        if user is None or user.merchant_id != delivery.merchant_id or user.phone != delivery.recipient:
            return f"{delivery.kind} addressed to another phone than its user's"
    return None


def _secret_for(delivery):
    """The one-time secret an SMS carries, made now, as it is sent (a resend makes a new one).

    Rows never hold a password, a code or a link's token: the digest is stored here, the
    secret goes only into the message.
    """
    if delivery.kind == "register_code":
        return accounts.issue_registration_code(delivery.recipient)
    if delivery.kind in USER_SECRETS:
        return USER_SECRETS[delivery.kind](delivery.user_id)
    return None


def _failed(delivery, error):
    """Set the row up for a retry with backoff, or give up after the budget; keep the error visible."""
    retry = getattr(error, "retryable", True) and delivery.attempts < MAX_ATTEMPTS
    message = str(error)[:500]
    if not retry:
        Delivery.update(state="failed", last_error=message, lease_until=None).where(
            Delivery.id == delivery.id).execute()
        current_app.logger.warning("delivery %s failed: %s", delivery.id, message)
        return Outcome("failed")
    backoff = current_app.config["DELIVERY_BACKOFF_SECONDS"]
    delay = int(backoff[min(delivery.attempts, len(backoff)) - 1])
    Delivery.update(state="pending", last_error=message,
                    lease_until=utcnow() + timedelta(seconds=delay) + grace()).where(
        Delivery.id == delivery.id).execute()
    return Outcome("pending", delay)


def stale():
    """Rows nobody is looking after: pending or sending past their lease."""
    return Delivery.select(Delivery.id, Delivery.kind).where(
        Delivery.state.in_(("pending", "sending")), Delivery.lease_until < utcnow())


def sweep():
    """(id, kind) of every stale row, to be queued again.

    A row still "sending" after its last allowed attempt belongs to a worker that
    died mid-send every time: give up on it visibly instead of looping.
    """
    Delivery.update(state="failed", last_error="worker stopped while sending", lease_until=None).where(
        Delivery.state == "sending", Delivery.lease_until < utcnow(),
        Delivery.attempts >= MAX_ATTEMPTS).execute()
    return [(row.id, row.kind) for row in stale()]


def reset_failed():
    """Give failed rows a fresh budget; returns their (id, kind), to be queued again."""
    with db.atomic():
        rows = [(row.id, row.kind) for row in Delivery.select(Delivery.id, Delivery.kind)
                .where(Delivery.state == "failed")]
        Delivery.update(state="pending", attempts=0, lease_until=utcnow() + grace()).where(
            Delivery.id.in_([delivery_id for delivery_id, _ in rows])).execute()
    return rows

