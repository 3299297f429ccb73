"""Merchant accounts: creating them (registration included), passwords, ending sessions."""
import hmac
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import utcnow
from ..extensions import db
from ..models import Merchant, PhoneCode, new_token
from . import outbox
from .guards import keyed_digest

TEMP_LIFETIME = timedelta(minutes=15)
CODE_LIFETIME = timedelta(minutes=10)
CODE_TRIES = 5
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


def is_password(merchant, password):
    """True when this is the merchant's current password."""
    return check_password_hash(merchant.password_hash, password)


def set_password(merchant, password):
    """Store a new password, end every session the merchant had, and tell its e-mail.

    Returns the outbox rows of the notice (none when the merchant has no address).
    """
    with db.atomic():
        merchant.password_hash = hash_password(password)
        merchant.session_token = new_token()
        merchant.must_change_password = False
        merchant.temp_password_hash = None
        merchant.temp_password_expires_at = None
        merchant.save()
        return outbox.for_merchant(merchant, None, "password_changed")


def request_temporary_password(phone):
    """«Вспомнить пароль»: the SMS row for an active merchant's phone, none for any other.

    The sending task makes the password when it sends, so no row ever holds it.
    """
    with db.atomic():
        merchant = Merchant.get_or_none(Merchant.phone == phone, Merchant.active == True)  # noqa: E712
        return [outbox.add(merchant.id, None, "sms", "password", phone)] if merchant else []


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



def request_registration_code(phone):
    """The SMS row: a code for a new phone, a "you already have a cabinet" note for a known one.

    Both look the same to whoever asked, so the form tells nobody which phones are registered.
    """
    kind = "register_exists" if Merchant.select().where(Merchant.phone == phone).exists() else "register_code"
    with db.atomic():
        return [outbox.add(None, None, "sms", kind, phone)]


def issue_registration_code(phone):
    """Make a fresh code for the phone (the sending task calls this), store its digest, return it."""
    code = f"{secrets.randbelow(10**6):06d}"
    with db.atomic():
        PhoneCode.delete().where(PhoneCode.phone == phone).execute()
        PhoneCode.create(phone=phone, code_hash=keyed_digest(code), expires_at=utcnow() + CODE_LIFETIME)
    return code


def confirm_registration_code(phone, code):
    """True when the code is right and fresh; a few wrong tries spend it."""
    with db.atomic():
        row = PhoneCode.get_or_none(PhoneCode.phone == phone)
        if row is None or row.expires_at < utcnow() or row.attempts >= CODE_TRIES:
            return False
        if not hmac.compare_digest(row.code_hash, keyed_digest(code or "")):
            PhoneCode.update(attempts=PhoneCode.attempts + 1).where(PhoneCode.id == row.id).execute()
            return False
        PhoneCode.delete().where(PhoneCode.id == row.id).execute()
    return True


def register(phone, code, password, name, email):
    """Create the merchant once the code confirms the phone; None when it does not."""
    if not confirm_registration_code(phone, code):
        return None
    try:
        return create_merchant(phone, password, name, email)
    except AccountError:
        return None
