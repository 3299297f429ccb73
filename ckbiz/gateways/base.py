"""What every gateway shares: the notification it produces, and ckbiz's own signature scheme."""
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

SIGNATURE_HEADER = "X-Ckbiz-Signature"
TOLERANCE_SECONDS = 300


class NotificationError(ValueError):
    """A notification that is refused (400) and changes nothing."""


class ProviderError(Exception):
    """The provider could not be asked, or said no; nothing was marked.

    `unknown` is true when the provider may have acted anyway (a timeout, a 5xx, an answer
    we could not read): the next attempt must reuse the same idempotency key.
    """

    def __init__(self, message, unknown):
        super().__init__(message)
        self.unknown = unknown


@dataclass(frozen=True)
class ReceiptItem:
    """One line of a 54-ФЗ receipt: a service paid in full."""

    name: str
    quantity: Decimal
    price_kop: int
    amount_kop: int  # quantity × price, exactly
    vat: str  # domain.positions.VAT_RATES
    supplier: tuple | None  # (name, ИНН) of the payee when the operator acts as payment agent


@dataclass(frozen=True)
class Receipt:
    """What a provider needs to send the payer a 54-ФЗ receipt; its items add up to the charge."""

    email: str | None
    phone: str | None  # 9XXXXXXXXX, when there is no e-mail
    tax_system: str  # osn | usn_income | usn_income_outcome | esn | patent
    items: tuple


@dataclass(frozen=True)
class Started:
    """A payment created at the provider: its own id for it, and where the payer goes."""

    provider_ref: str
    url: str


@dataclass(frozen=True)
class Notification:
    """What a gateway tells us about a payment, in its own words mapped to ours."""

    event_id: str
    payment_id: str  # ours: Payment.provider_payment_id
    invoice_token: str | None  # None: the provider does not know it, the payment row decides
    amount_kop: int
    currency: str
    status: str  # "succeeded" | "failed" | "pending" (nothing to apply yet)

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


def new_payment_id():
    """Our id for a payment at a real provider: its idempotency key (ЮKassa) or OrderId (T-Bank).

    Random rather than our row id: a reinstalled ckbiz on the same provider account must
    never send a key the provider has already seen.
    """
    return "ck_" + secrets.token_urlsafe(16)


def kopecks(value):
    """Exact kopecks of a provider's "101.50"; ValueError for anything else."""
    try:
        amount = Decimal(str(value)) * 100
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValueError(f"not a whole number of kopecks: {value}")
    return int(amount)


def rubles(amount_kop):
    """Kopecks as a provider's amount string: 10150 → "101.50"."""
    return f"{amount_kop // 100}.{amount_kop % 100:02d}"
