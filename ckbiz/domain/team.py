"""«Сотрудники»: inviting users by SMS, changing their roles, removing them; a merchant
always keeps at least one owner."""
import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _

from ..database import utcnow
from ..extensions import db
from ..models import Merchant, User
from . import outbox
from .accounts import AccountError, hash_password, lock
from .roles import OWNER, ROLES

INVITE_LIFETIME = timedelta(hours=72)


def _digest(token):
    """What the users table keeps of an invitation token (256 random bits: a plain hash will do)."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite(merchant, phone, name, role):
    """Invite a phone as a user of the merchant: a user without a password, and the SMS with the link.

    Returns (the user, outbox rows). A phone that already has an account anywhere is refused;
    an invitation not yet accepted is sent again, renewed for INVITE_LIFETIME.
    """
    if role not in ROLES:
        raise AccountError(_("Выберите роль из списка"))
    with db.atomic():
        user = User.get_or_none(User.phone == phone)
        if user is not None and (user.merchant_id != merchant.id or user.password_hash is not None):
            raise AccountError(_("У телефона %(phone)s уже есть учетная запись в ЦК Бизнес: пригласить его нельзя.",
                                 phone=phone))
        expires = utcnow() + INVITE_LIFETIME
        if user is None:
            user = User.create(merchant=merchant.id, phone=phone, name=name, role=role, invite_expires_at=expires)
        else:
            User.update(name=name, role=role, invite_expires_at=expires).where(User.id == user.id).execute()
        return user, [outbox.add(merchant.id, None, "sms", "invite", phone, user=user.id)]


def issue_invitation_token(user_id):
    """Make the invitation link's token (the sending task calls this): only its digest is kept,
    and a resend makes a new one, so a link is good once and only the newest works."""
    token = secrets.token_urlsafe(32)
    User.update(invite_hash=_digest(token)).where(User.id == user_id, User.password_hash.is_null()).execute()
    return token


def invited_user(token):
    """The user this invitation link is for, while it is unused and fresh; else None."""
    if not token:
        return None
    return (User.select(User, Merchant).join(Merchant)
            .where(User.invite_hash == _digest(token), User.password_hash.is_null(),
                   User.invite_expires_at > utcnow()).get_or_none())


def accept(user, name, password):
    """The invitee sets their name and password; the link is spent. False if it was spent meanwhile."""
    return bool(User.update(name=name or user.name, password_hash=hash_password(password), invite_hash=None,
                            invite_expires_at=None)
                .where(User.id == user.id, User.invite_hash == user.invite_hash, User.password_hash.is_null())
                .execute())


def _owners_left(merchant):
    """How many owners the merchant has (invited ones do not count: they cannot log in yet)."""
    return User.select().where(User.merchant == merchant.id, User.role == OWNER,
                               User.password_hash.is_null(False)).count()


def change_role(merchant, user_id, role):
    """Give one of the merchant's users another role; the last owner stays an owner."""
    if role not in ROLES:
        raise AccountError(_("Выберите роль из списка"))
    with db.atomic():
        lock(merchant)
        User.update(role=role).where(User.id == user_id, User.merchant == merchant.id).execute()
        if _owners_left(merchant) == 0:
            raise AccountError(_("В кабинете должен остаться хотя бы один владелец."))


def remove(merchant, user_id):
    """Remove one of the merchant's users; their sessions end with them. Not the last owner."""
    with db.atomic():
        lock(merchant)
        User.delete().where(User.id == user_id, User.merchant == merchant.id).execute()
        if _owners_left(merchant) == 0:
            raise AccountError(_("В кабинете должен остаться хотя бы один владелец."))
