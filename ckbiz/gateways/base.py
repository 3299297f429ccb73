"""What every gateway shares: the notification it produces, and ckbiz's own signature scheme."""
import hashlib
import hmac
import time
from dataclasses import dataclass, fields

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

    def __post_init__(self):
        # No payer or provider writes a NUL, and PostgreSQL refuses one in any string: a
        # notification carrying one is malformed, refused before it reaches the database.
        if any("\x00" in str(getattr(self, field.name)) for field in fields(self)):
            raise NotificationError("NUL character in the notification")


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
