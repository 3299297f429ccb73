"""What stands between a stranger and an SMS or a password guess: image captchas whose
answer lives server-side and is used once, and rate limits shared by every process
(counters in the database, or in Redis when RATELIMIT_STORAGE_URL names one)."""
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta

import redis
from captcha.image import ImageCaptcha
from flask import current_app

from ..database import utcnow
from ..extensions import db, is_redis_url, with_timeouts
from ..models import Captcha, RateCounter

CAPTCHA_LIFETIME = timedelta(minutes=5)
CAPTCHA_LENGTH = 5
HOUR = 3600


def keyed_digest(secret):
    """An HMAC of a short secret under SECRET_KEY, so a table never holds the secret itself."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, secret.strip().encode(), hashlib.sha256).hexdigest()


def new_captcha(previous_key=None):
    """A new captcha: returns (its key for the session, the PNG bytes). A browser asking again
    (↻, a reloaded page) gets its previous row rewritten rather than one more row."""
    answer = "".join(secrets.choice("0123456789") for _ in range(CAPTCHA_LENGTH))
    image = ImageCaptcha(width=180, height=64).generate(answer, format="png").getvalue()
    return remember_captcha(answer, previous_key), image


def remember_captcha(answer, previous_key=None):
    """Store an answer's digest for a few minutes, in the previous captcha's row when it still
    exists; returns the key the session keeps."""
    values = {"answer_hash": keyed_digest(answer), "expires_at": utcnow() + CAPTCHA_LIFETIME}
    with db.atomic():
        if previous_key and Captcha.update(**values).where(Captcha.key == previous_key).execute():
            return previous_key
        Captcha.delete().where(Captcha.expires_at < utcnow()).execute()
        return Captcha.create(**values).key


def captcha_solved(key, answer):
    """True when the answer fits the captcha; the captcha is gone afterwards either way."""
    if not key or not answer:
        return False
    with db.atomic():
        row = Captcha.get_or_none(Captcha.key == key)
        if row is None:
            return False
        Captcha.delete().where(Captcha.id == row.id).execute()
    return row.expires_at > utcnow() and hmac.compare_digest(row.answer_hash, keyed_digest(answer))


def captcha_allowed(address):
    """Count one captcha image for the address; False past CAPTCHAS_PER_ADDRESS_PER_HOUR."""
    return hit("captcha-ip", address, HOUR) <= current_app.config["CAPTCHAS_PER_ADDRESS_PER_HOUR"]


def sms_allowed(purpose, phone, address):
    """Count one SMS-sending attempt per phone (normalised) and per address; False past either limit."""
    config = current_app.config
    by_phone = hit(f"{purpose}-phone", phone, HOUR) <= config["RECOVERY_PER_PHONE_PER_HOUR"]
    by_address = hit(f"{purpose}-ip", address, HOUR) <= config["RECOVERY_PER_ADDRESS_PER_HOUR"]
    return by_phone and by_address


def _window(name, subject, seconds):
    """The counter key and the start of the current window."""
    start = int(time.time()) // seconds * seconds
    return f"{name}:{subject}", start


def hit(name, subject, seconds):
    """Count one attempt of `name` by `subject` in the current window; returns the new count."""
    key, start = _window(name, subject, seconds)
    client = _redis()
    if client is not None:
        pipe = client.pipeline()
        pipe.incr(f"ckbiz:limit:{key}:{start}")
        pipe.expire(f"ckbiz:limit:{key}:{start}", seconds)
        return pipe.execute()[0]
    rows = (RateCounter.insert(key=key, window_start=_moment(start), count=1)
            .on_conflict(conflict_target=[RateCounter.key, RateCounter.window_start],
                         update={RateCounter.count: RateCounter.count + 1})
            .returning(RateCounter.count).execute())
    return list(rows)[0].count


def window_left(seconds):
    """Whole seconds until the current window of this length ends (a Retry-After)."""
    return seconds - int(time.time()) % seconds


def hits(name, subject, seconds):
    """How many attempts were counted in the current window, without counting one more."""
    key, start = _window(name, subject, seconds)
    client = _redis()
    if client is not None:
        return int(client.get(f"ckbiz:limit:{key}:{start}") or 0)
    return (RateCounter.select(RateCounter.count)
            .where(RateCounter.key == key, RateCounter.window_start == _moment(start)).scalar() or 0)


def _moment(start):
    """A window start as the naive UTC datetime the table stores."""
    return datetime.fromtimestamp(start, UTC).replace(tzinfo=None)


def _redis():
    """The Redis client when RATELIMIT_STORAGE_URL names one, else None (the database counts)."""
    url = current_app.config["RATELIMIT_STORAGE_URL"]
    if not is_redis_url(url):
        return None
    client = current_app.extensions.get("ckbiz_redis")
    if client is None:
        client = current_app.extensions["ckbiz_redis"] = redis.Redis.from_url(with_timeouts(url))
    return client


def forget_old_counters():
    """Drop counters whose window ended more than a day ago."""
    return RateCounter.delete().where(RateCounter.window_start < utcnow() - timedelta(days=1)).execute()
