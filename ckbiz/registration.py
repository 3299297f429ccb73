"""«Зарегистрироваться» (when REGISTRATION=open): the phone is confirmed by an SMS code first."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app

from . import accounts, deliveries
from .database import utcnow
from .extensions import db
from .models import Merchant, PhoneCode

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5


def _digest(code):
    """An HMAC of the code, so the table never holds the code itself."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), code.encode(), hashlib.sha256).hexdigest()


def request_code(phone):
    """Queue the SMS: a code for a new phone, a "you already have a cabinet" note for a known one.

    Both look the same to whoever asked, so the form tells nobody which phones are registered.
    """
    kind = "register_exists" if Merchant.select().where(Merchant.phone == phone).exists() else "register_code"
    with db.atomic():
        row = deliveries.add(None, None, "sms", kind, phone)
    deliveries.enqueue([row])


def issue_code(phone):
    """Make a fresh code for the phone (the sending task calls this), store its digest, return it."""
    code = f"{secrets.randbelow(10**6):06d}"
    with db.atomic():
        PhoneCode.delete().where(PhoneCode.phone == phone).execute()
        PhoneCode.create(phone=phone, code_hash=_digest(code), expires_at=utcnow() + CODE_LIFETIME)
    return code


def confirm(phone, code):
    """True when the code is right and fresh; a few wrong tries spend it."""
    with db.atomic():
        row = PhoneCode.get_or_none(PhoneCode.phone == phone)
        if row is None or row.expires_at < utcnow() or row.attempts >= MAX_TRIES:
            return False
        if not hmac.compare_digest(row.code_hash, _digest((code or "").strip())):
            PhoneCode.update(attempts=PhoneCode.attempts + 1).where(PhoneCode.id == row.id).execute()
            return False
        PhoneCode.delete().where(PhoneCode.id == row.id).execute()
    return True


def register(phone, code, password, name, email):
    """Create the merchant once the code confirms the phone; None when it does not."""
    if not confirm(phone, code):
        return None
    try:
        return accounts.create_merchant(phone, password, name, email)
    except accounts.AccountError:
        return None
