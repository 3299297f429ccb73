"""Keys of the merchant API: made with a name and shown once, kept only as a digest,
revoked for good, their last use noted (at most once a minute: not a write per request)."""
import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _

from ..database import Prepared, utcnow
from ..models import ApiKey, Merchant

PREFIX = "ckbiz_"
SHOWN = 12  # characters of a key the list shows: «ckbiz_AbC123…»
MAX_NAME = 100
TOUCH_EVERY = timedelta(minutes=1)


class KeyNameError(ValueError):
    """A key's name that cannot be used; the message says why."""


def digest(key):
    """What the table keeps of a key: a key is 256 random bits, so a plain SHA-256 is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def clean_name(raw):
    """The key's name, trimmed; raises KeyNameError when empty or too long."""
    name = " ".join((raw or "").split())
    if not name:
        raise KeyNameError(_("Укажите название ключа, например «Интернет-магазин»"))
    if len(name) > MAX_NAME:
        raise KeyNameError(_("Не больше %(n)d символов", n=MAX_NAME))
    return name


def create(merchant, name, created_by):
    """A new key for the merchant; returns (its row, the key itself, to be shown once)."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey.create(merchant=merchant, name=clean_name(name), prefix=key[:SHOWN], key_hash=digest(key),
                        created_by=created_by)
    return row, key


@Prepared
def _live_key(key_hash):
    """The unrevoked key of this digest with its merchant: every API request asks, so built once."""
    return ApiKey.select(ApiKey, Merchant).join(Merchant).where(ApiKey.key_hash == key_hash,
                                                                ApiKey.revoked_at.is_null()).limit(1)


def authenticate(key):
    """The live key row (with its merchant) for a presented key, or None; notes its use."""
    if not key or len(key) > 200:
        return None
    row = _live_key.first(digest(key))
    if row is None or not row.merchant.active:
        return None
    now = utcnow()
    if row.last_used_at is None or row.last_used_at < now - TOUCH_EVERY:
        ApiKey.update(last_used_at=now).where(ApiKey.id == row.id).execute()
        row.last_used_at = now
    return row


def revoke(merchant, key_id):
    """Revoke one of the merchant's keys; it stops working at once. False when there is no such key."""
    return bool(ApiKey.update(revoked_at=utcnow())
                .where(ApiKey.merchant == merchant, ApiKey.id == key_id, ApiKey.revoked_at.is_null()).execute())


def actor(row):
    """How events name what a key did: «API: Интернет-магазин»."""
    return f"API: {row.name}"
