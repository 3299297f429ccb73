"""The outbox: every e-mail, SMS and webhook event is a row, written in the transaction of the change
that causes it. Functions here only write rows and return them; `tasks` hands them to
the queue after the commit, and `delivery.runner` sends them."""
from datetime import timedelta

from flask import current_app
from peewee import SQL, Value, fn

from ..database import Prepared, is_sqlite, utcnow
from ..extensions import db
from ..models import Delivery, Invoice, InvoiceEvent, User, Webhook, new_token
from .roles import OWNER

# Sent on a queue of their own (tasks.send_urgent_delivery), never behind ordinary mail: the
# payment notices and confirmations, and the SMS someone is waiting for at a login form.
URGENT_KINDS = frozenset({"paid_notice", "payment_received", "refund_notice", "mismatch_notice",
                          "password", "register_code", "register_exists"})


def grace():
    """How long the sweeper leaves a new or leased row alone before assuming it lost."""
    return timedelta(seconds=int(current_app.config["DELIVERY_LEASE_SECONDS"]))


def message_id(channel, kind):
    """A message's stable id: the Message-ID of an e-mail or SMS, the event id of a webhook."""
    return f"evt_{new_token()}" if channel == "webhook" else f"<{kind}.{new_token()}@ckbiz>"


def add(merchant_id, invoice_id, channel, kind, recipient, user=None):
    """Write one message in the caller's transaction; returns the row. `user` is whom it is about."""
    return Delivery.create(
        merchant=merchant_id, invoice=invoice_id, user=user, channel=channel, kind=kind, recipient=recipient,
        message_id=message_id(channel, kind), lease_until=utcnow() + grace())


def add_all(merchant_id, invoice_id, messages):
    """Write messages about one invoice, (channel, kind, recipient) each, in one INSERT of the caller's
    transaction; returns the rows in the order given (with id, invoice, channel, kind and recipient)."""
    if not messages:
        return []
    lease_until = utcnow() + grace()
    values = [{"merchant": merchant_id, "invoice": invoice_id, "channel": channel, "kind": kind,
               "recipient": recipient, "message_id": message_id(channel, kind), "lease_until": lease_until}
              for channel, kind, recipient in messages]
    written = {row.message_id: row for row in Delivery.insert_many(values).returning(
        Delivery.id, Delivery.invoice, Delivery.channel, Delivery.kind, Delivery.recipient,
        Delivery.message_id).execute()}
    # RETURNING promises no order (SQLite's is arbitrary): the message ids put them back in theirs.
    return [written[value["message_id"]] for value in values]


def webhook(merchant_id, invoice_id, kind):
    """A webhook event in the caller's transaction, when the merchant has a webhook; returns the rows.

    The row names the URL of the moment for the log; it is sent to the webhook's URL of the
    moment it is sent (a corrected URL takes the events still waiting).
    """
    hook = Webhook.get_or_none(Webhook.merchant == merchant_id)
    if hook is None:
        return []
    return [add(merchant_id, invoice_id, "webhook", kind, hook.url)]


def webhooks_where(condition, kind, now):
    """One webhook event per invoice matching `condition` whose merchant has a webhook, in one
    INSERT … SELECT (bulk moves: no invoice passes through Python); returns how many.

    The rows are due at once and the sweeper sends them: a bulk move has no request to queue them from.
    """
    rows = (Invoice.select(Invoice.merchant, Invoice.id, Value(kind), Webhook.url, SQL(event_id_sql()),
                           Value(now), Value(now), *(Value(v) for v in WEBHOOK_DEFAULTS.values()))
            .join(Webhook, on=(Webhook.merchant == Invoice.merchant)).where(condition))
    fields = [Delivery.merchant, Delivery.invoice, Delivery.kind, Delivery.recipient, Delivery.message_id,
              Delivery.lease_until, Delivery.created_at, *(getattr(Delivery, f) for f in WEBHOOK_DEFAULTS)]
    return Delivery.insert_from(rows, fields=fields).execute()


# What a bulk-written webhook row sets besides its invoice, event and times (peewee's defaults are
# Python's: an INSERT … SELECT must name them).
WEBHOOK_DEFAULTS = {"channel": "webhook", "state": "pending", "attempts": 0, "last_error": ""}


def event_id_sql():
    """SQL for a fresh random event id made by the database, one per row: `evt_` and 32 hex digits
    (128 random bits; PostgreSQL 13 or later has gen_random_uuid built in)."""
    if is_sqlite(db):
        return "'evt_' || lower(hex(randomblob(16)))"
    return "'evt_' || replace(gen_random_uuid()::text, '-', '')"


def for_payer(invoice, kind, also=()):
    """The payer's e-mail and SMS for an invoice (whichever contacts it has, SMS within the daily cap),
    written with `also`, further messages about the invoice as add_all takes them; returns the rows."""
    messages = []
    if invoice.payer_email:
        messages.append(("email", kind, invoice.payer_email))
    if invoice.payer_phone:
        if not sms_cap_reached(invoice.merchant_id):
            messages.append(("sms", kind, invoice.payer_phone))
        else:
            InvoiceEvent.create(invoice=invoice.id, kind="sms_limit", note=invoice.payer_phone)
    return add_all(invoice.merchant_id, invoice.id, [*messages, *also])


def for_merchant(merchant, invoice_id, kind, user=None, sms_fallback=False):
    """An e-mail to the merchant's contact address (or its copy address), if it has one; else,
    with `sms_fallback`, an SMS to its owner's phone."""
    address = merchant.email or merchant.copy_email
    if address:
        return [add(merchant.id, invoice_id, "email", kind, address, user=user)]
    owner = (User.select(User.phone)
             .where(User.merchant == merchant.id, User.role == OWNER, User.password_hash.is_null(False))
             .order_by(User.id).first()) if sms_fallback else None
    return [add(merchant.id, invoice_id, "sms", kind, owner.phone, user=user)] if owner else []


def sms_cap_reached(merchant_id):
    """True when the merchant's invoices caused SMS_DAILY_LIMIT SMS in the last 24 hours.

    Counted no further than the cap, so the check costs the same however many SMS a busy
    merchant sends.
    """
    cap = int(current_app.config["SMS_DAILY_LIMIT"])
    [counted] = _recent_sms.first(merchant_id, utcnow() - timedelta(days=1), cap)
    return counted >= cap


@Prepared
def _recent_sms(merchant_id, since, cap):
    """The merchant's SMS since then, counted up to the cap; every issue asks, so built once."""
    recent = (Delivery.select(SQL("1")).where(Delivery.merchant == merchant_id, Delivery.channel == "sms",
                                               Delivery.created_at > since).limit(cap))
    return Delivery.select(fn.COUNT(SQL("*"))).from_(recent.alias("recent")).tuples()
