"""Payment gateways behind one small interface, chosen by PAYMENT_GATEWAY.

A gateway module defines a class with:
- name: the URL segment of its callback (/payments/<name>/callback);
- start(invoice, payment) -> the URL the payer is sent to for the card form;
- notification(request) -> Notification, raising NotificationError for anything
  not proven to come from the gateway;
- lookup(provider_payment_id) -> "pending" | "succeeded" | "failed" (reconciliation).
Adding a provider is one module here plus a line in GATEWAYS.
"""
import hashlib
import hmac
import time
from dataclasses import dataclass

from flask import current_app

SIGNATURE_HEADER = "X-Ckbiz-Signature"
TOLERANCE_SECONDS = 300


class NotificationError(ValueError):
    """A notification that is refused (400) and changes nothing."""


@dataclass(frozen=True)
class Notification:
    """What a gateway tells us about a payment, in its own words mapped to ours."""

    event_id: str
    payment_id: str
    invoice_token: str
    amount_kop: int
    currency: str
    status: str  # "succeeded" | "failed"


def sign(body, secret, timestamp=None):
    """The signature header value for a raw body: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(body, header, secret, now=None):
    """Check a signature header against the raw body; NotificationError unless valid and fresh."""
    if not secret:
        raise NotificationError("no payment secret configured")
    parts = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError) as exc:
        raise NotificationError("missing or malformed signature") from exc
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise NotificationError("signature timestamp outside the tolerance window")
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise NotificationError("signature mismatch")


def current():
    """The configured gateway."""
    return by_name(current_app.config["PAYMENT_GATEWAY"])


def by_name(name):
    """The gateway called `name`; LookupError for an unknown one."""
    from .demo import DemoGateway

    gateways = {"demo": DemoGateway}
    if name not in gateways:
        raise LookupError(name)
    return gateways[name]()
