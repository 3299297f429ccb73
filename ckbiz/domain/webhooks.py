"""The merchant's webhook (DESIGN "Merchant API and webhooks"): its URL, checked when saved, and
its signing secret, derived rather than stored.

The secret is HMAC-SHA256(SECRET_KEY, "ckbiz-webhook:<merchant>:<nonce>"). It must be
reproduced at every send, so it cannot be hashed like a password; deriving it keeps it out of
the database (a stolen copy of the database cannot sign events) with no key of its own to
manage. Rotating is drawing a new nonce. Changing SECRET_KEY changes every webhook's secret:
the README says so.
"""
import hashlib
import hmac

from flask import current_app
from peewee import JOIN

from ..database import utcnow
from ..extensions import db
from ..models import Delivery, Invoice, Webhook, new_token
from . import outbox
from .webhook_targets import resolve

# What a webhook tells about, in the order of an invoice's life; `ping` is the test event.
EVENTS = ("invoice.issued", "invoice.paid", "invoice.transferred", "invoice.expired", "invoice.cancelled",
          "payment.refund_needed")
PING = "ping"
LOG_SIZE = 50


def allow_private(config):
    """WEBHOOK_ALLOW_PRIVATE as a boolean, whether set as JSON `true` or as text."""
    value = config["WEBHOOK_ALLOW_PRIVATE"]
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def of(merchant):
    """The merchant's webhook, or None."""
    return Webhook.get_or_none(Webhook.merchant == merchant)


def secret(hook):
    """The webhook's signing secret, derived again each time it is needed."""
    message = f"ckbiz-webhook:{hook.merchant_id}:{hook.secret_nonce}".encode()
    key = str(current_app.config["SECRET_KEY"]).encode()
    return "whsec_" + hmac.new(key, message, hashlib.sha256).hexdigest()


def save(merchant, url):
    """Set the merchant's webhook URL after checking where it leads; returns (webhook, its secret
    when it is new — shown once — or None). UnsafeTarget (nothing saved) for a URL we will not call."""
    url = url.strip()
    resolve(url, allow_private(current_app.config))
    with db.atomic():
        hook = of(merchant)
        if hook is None:
            hook = Webhook.create(merchant=merchant, url=url)
            return hook, secret(hook)
        Webhook.update(url=url).where(Webhook.id == hook.id).execute()
        hook.url = url
    return hook, None


def rotate(hook):
    """A new secret for the webhook (the old one stops working at once); returns it, to be shown once."""
    hook.secret_nonce, hook.rotated_at = new_token(), utcnow()
    hook.save()
    return secret(hook)


def ping(merchant):
    """«Отправить тестовое событие»: a `ping` row in the outbox; returns the rows to queue."""
    return outbox.webhook(merchant.id, None, PING)


def log(merchant):
    """The merchant's latest webhook deliveries, newest first, with their invoices' numbers."""
    return list(Delivery.select(Delivery, Invoice.number).join(Invoice, JOIN.LEFT_OUTER)
                .where(Delivery.merchant == merchant, Delivery.channel == "webhook")
                .order_by(Delivery.id.desc()).limit(LOG_SIZE))


def retry(merchant, delivery_id):
    """«Повторить»: send the event again with a fresh budget (the same event id); returns the rows to
    queue — none when the row is not the merchant's webhook or is being sent right now."""
    now = utcnow()
    again = (Delivery.update(state="pending", attempts=0, lease_until=now + outbox.grace())
             .where(Delivery.id == delivery_id, Delivery.merchant == merchant, Delivery.channel == "webhook",
                    (Delivery.state != "sending") | (Delivery.lease_until < now))
             .returning(Delivery).execute())
    return list(again)
