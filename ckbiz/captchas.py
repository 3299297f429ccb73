"""Image captchas for SMS-sending forms: the answer lives server-side and is used once."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from captcha.image import ImageCaptcha
from flask import current_app

from .database import utcnow
from .extensions import db
from .models import Captcha

LIFETIME = timedelta(minutes=5)
LENGTH = 5


def _digest(answer):
    """The stored form of an answer: an HMAC, so the table does not hold the answer itself."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, answer.strip().encode(), hashlib.sha256).hexdigest()


def new():
    """A new captcha: returns (its key for the session, the PNG bytes)."""
    answer = "".join(secrets.choice("0123456789") for _ in range(LENGTH))
    image = ImageCaptcha(width=180, height=64).generate(answer, format="png").getvalue()
    return remember(answer), image


def remember(answer):
    """Store an answer's digest for a few minutes; returns the key the session keeps."""
    with db.atomic():
        Captcha.delete().where(Captcha.expires_at < utcnow()).execute()
        return Captcha.create(answer_hash=_digest(answer), expires_at=utcnow() + LIFETIME).key


def solved(key, answer):
    """True when the answer fits the captcha; the captcha is gone afterwards either way."""
    if not key or not answer:
        return False
    with db.atomic():
        row = Captcha.get_or_none(Captcha.key == key)
        if row is None:
            return False
        Captcha.delete().where(Captcha.id == row.id).execute()
    return row.expires_at > utcnow() and hmac.compare_digest(row.answer_hash, _digest(answer))
