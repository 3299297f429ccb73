"""Logins: merchants and their first user, passwords, temporary passwords, registration."""
import hmac
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import utcnow
from ..extensions import db
from ..models import Merchant, PhoneCode, User, UserSession
from . import outbox
from .guards import keyed_digest
from .roles import OWNER

TEMP_LIFETIME = timedelta(minutes=15)
CODE_LIFETIME = timedelta(minutes=10)
CODE_TRIES = 5
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# Checked against when the phone is unknown, so both answers take the same time.
_DUMMY_HASH = generate_password_hash("ckbiz-timing-equaliser")


class AccountError(ValueError):
    """A request about an account that cannot be done; the message says why."""


def lock(merchant):
    """Hold the merchant's row until the transaction ends, so two changes of one merchant's
    counted or shared state (its team, its reminder steps, a statement import) take turns: a
    write takes PostgreSQL's row lock, and on SQLite it starts the one writer's turn."""
    Merchant.update(last_invoice_number=Merchant.last_invoice_number).where(Merchant.id == merchant.id).execute()


def hash_password(password):
    """A scrypt hash (Werkzeug's default KDF)."""
    return generate_password_hash(password)


def phone_taken(phone):
    """True when the phone already belongs to a user of some merchant (invited ones included)."""
    return User.select().where(User.phone == phone).exists()


def create_merchant(phone, password, name="", email=None):
    """A new merchant and its owner, who logs in with this phone; returns the owner."""
    with db.atomic():
        if phone_taken(phone):
            raise AccountError(_("Телефон %(phone)s уже есть в кабинете ЦК Бизнес", phone=phone))
        merchant = Merchant.create(name=name or "", email=email)
        return User.create(merchant=merchant, phone=phone, name=name or "", role=OWNER,
                           password_hash=hash_password(password))


def user_by_phone(phone):
    """The user with this phone and their merchant, or None."""
    return (User.select(User, Merchant).join(Merchant).where(User.phone == phone).get_or_none()
            if phone else None)


def authenticate(phone, password, temporary_only=False):
    """The user whose phone and password match and who may log in, else None.

    A valid temporary password from recovery also matches, once: it is spent here, the old
    password stops working with it (DESIGN: it works only until the temporary one is used),
    and the user must then choose a password of their own. With `temporary_only` (the phone
    is past its limit of failed logins and no captcha was solved) only a temporary password
    is tried, so its owner still gets in.

    Every path costs the same: two hash checks, the password's and the temporary one's, each
    against the dummy hash where there is nothing to check (unknown phone, invited user, no
    temporary password) — a known, unknown, disabled or recovering phone cannot be told apart
    by the time the answer takes.
    """
    user = user_by_phone(phone)
    own = user.password_hash if user is not None and user.password_hash and not temporary_only else None
    temporary = (user.temp_password_hash if user is not None and user.temp_password_hash
                 and user.temp_password_expires_at > utcnow() else None)
    own_matches = check_password_hash(own or _DUMMY_HASH, password) and own is not None
    temporary_matches = check_password_hash(temporary or _DUMMY_HASH, password) and temporary is not None
    if user is None or not user.is_active:
        return None
    if own_matches:
        return user
    if temporary_matches:
        spent = (User.update(temp_password_hash=None, temp_password_expires_at=None, must_change_password=True,
                             password_hash=hash_password(secrets.token_urlsafe(32)))
                 .where(User.id == user.id, User.temp_password_hash == temporary).execute())
        return user_by_phone(phone) if spent else None
    return None


def issue_temporary_password(user_id):
    """Make a one-time password valid for TEMP_LIFETIME, store only its hash, return it to send."""
    password = "".join(secrets.choice("23456789abcdefghjkmnpqrstuvwxyz") for _ in range(10))
    User.update(temp_password_hash=hash_password(password),
                temp_password_expires_at=utcnow() + TEMP_LIFETIME).where(User.id == user_id).execute()
    return password


def is_password(user, password):
    """True when this is the user's current password."""
    return user.password_hash is not None and check_password_hash(user.password_hash, password)


def set_password(user, password, keep=None):
    """Store a new password and end every session of the user but `keep` (the one it was changed in).

    The merchant's contact address is told, naming the user; returns those outbox rows.
    """
    with db.atomic():
        User.update(password_hash=hash_password(password), must_change_password=False, temp_password_hash=None,
                    temp_password_expires_at=None).where(User.id == user.id).execute()
        ended = UserSession.delete().where(UserSession.user == user.id)
        if keep is not None:
            ended = ended.where(UserSession.id != keep.id)
        ended.execute()
        return outbox.for_merchant(user.merchant, None, "password_changed", user=user.id)


def request_temporary_password(phone):
    """«Вспомнить пароль»: the SMS row for a user who may log in, none for any other phone.

    The sending task makes the password when it sends, so no row ever holds it.
    """
    with db.atomic():
        user = user_by_phone(phone)
        if user is None or not user.is_active:
            return []
        return [outbox.add(user.merchant_id, None, "sms", "password", phone, user=user.id)]


def set_active(merchant, active):
    """Enable or disable a merchant; disabling ends every session of its users."""
    with db.atomic():
        Merchant.update(active=active).where(Merchant.id == merchant.id).execute()
        if not active:
            UserSession.delete().where(UserSession.user.in_(User.select(User.id).where(
                User.merchant == merchant.id))).execute()


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
    kind = "register_exists" if phone_taken(phone) else "register_code"
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
    """A new merchant and its owner once the code confirms the phone; None when it does not."""
    if not confirm_registration_code(phone, code):
        return None
    try:
        return create_merchant(phone, password, name, email)
    except AccountError:
        return None
