"""Merchant accounts: creating them, passwords, and ending sessions."""
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from .database import utcnow
from .extensions import db
from .models import Merchant, new_token

TEMP_LIFETIME = timedelta(minutes=15)
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# Checked against when the phone is unknown, so both answers take the same time.
_DUMMY_HASH = generate_password_hash("ckbiz-timing-equaliser")


class AccountError(ValueError):
    """A request about an account that cannot be done."""


def hash_password(password):
    """A scrypt hash (Werkzeug's default KDF)."""
    return generate_password_hash(password)


def create_merchant(phone, password, name="", email=None):
    """Create a merchant with a hashed password; the phone must be new."""
    with db.atomic():
        if Merchant.select().where(Merchant.phone == phone).exists():
            raise AccountError(f"merchant {phone} already exists")
        return Merchant.create(phone=phone, password_hash=hash_password(password),
                               name=name or "", email=email)


def authenticate(phone, password):
    """The active merchant whose phone and password match, else None (same cost either way).

    A valid temporary password from recovery also matches, once: it is spent here,
    and the merchant must then choose a password of its own.
    """
    merchant = Merchant.get_or_none(Merchant.phone == phone) if phone else None
    if merchant is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not merchant.active:
        return None
    if check_password_hash(merchant.password_hash, password):
        return merchant
    if (merchant.temp_password_hash and merchant.temp_password_expires_at > utcnow()
            and check_password_hash(merchant.temp_password_hash, password)):
        spent = (Merchant.update(temp_password_hash=None, temp_password_expires_at=None,
                                 must_change_password=True)
                 .where(Merchant.id == merchant.id, Merchant.temp_password_hash == merchant.temp_password_hash)
                 .execute())
        return Merchant.get_by_id(merchant.id) if spent else None
    return None


def issue_temporary_password(merchant_id):
    """Make a one-time password valid for TEMP_LIFETIME, store only its hash, return it to send."""
    password = "".join(secrets.choice("23456789abcdefghjkmnpqrstuvwxyz") for _ in range(10))
    Merchant.update(temp_password_hash=hash_password(password),
                    temp_password_expires_at=utcnow() + TEMP_LIFETIME).where(Merchant.id == merchant_id).execute()
    return password


def set_password(merchant, password):
    """Store a new password and end every session the merchant had."""
    merchant.password_hash = hash_password(password)
    merchant.session_token = new_token()
    merchant.must_change_password = False
    merchant.temp_password_hash = None
    merchant.temp_password_expires_at = None
    merchant.save()


def end_sessions(merchant):
    """Make every session cookie of the merchant useless."""
    Merchant.update(session_token=new_token()).where(Merchant.id == merchant.id).execute()


def set_active(merchant, active):
    """Enable or disable a merchant; disabling ends its sessions."""
    merchant.active = active
    if not active:
        merchant.session_token = new_token()
    merchant.save()


def password_problem(password):
    """A reason the password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return _("Пароль должен быть не короче %(n)d символов", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return _("Пароль должен быть не длиннее %(n)d символов", n=MAX_PASSWORD)
    return None

