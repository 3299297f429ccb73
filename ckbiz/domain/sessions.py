"""Where a user is logged in: each login is a row; the cookie holds only a random token,
the row its digest. Ending a session deletes its row, so its cookie finds nobody."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from peewee import DatabaseError

from ..database import Prepared, utcnow
from ..models import Merchant, User, UserSession

# last_seen_at is written at most this often, so a busy page is not a write per request.
TOUCH_EVERY = timedelta(minutes=1)
MAX_AGENT = 255


@Prepared
def session_by_digest(token_hash):
    """A session with its user and merchant: every cabinet request reads one, so built once."""
    return (UserSession.select(UserSession, User, Merchant).join(User).join(Merchant)
            .where(UserSession.token_hash == token_hash).limit(1))


def digest(token):
    """What the table keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user, address, user_agent):
    """A new session of the user; returns (its row, the token for the cookie)."""
    token = secrets.token_urlsafe(32)
    row = UserSession.create(user=user.id, token_hash=digest(token), address=address or "",
                             user_agent=(user_agent or "")[:MAX_AGENT])
    return row, token


def _lifetimes():
    """(idle, absolute) lifetimes of a session, from SESSION_IDLE_MINUTES and SESSION_MAX_DAYS."""
    config = current_app.config
    return timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])), timedelta(days=int(config["SESSION_MAX_DAYS"]))


def find(token):
    """The live session of this token with its user and merchant, or None.

    A session unused past the idle lifetime, or older than the absolute one, is ended here.
    """
    if not token:
        return None
    row = session_by_digest.first(digest(token))
    if row is None:
        return None
    now = utcnow()
    idle, absolute = _lifetimes()
    if row.last_seen_at < now - idle or row.created_at < now - absolute:
        UserSession.delete().where(UserSession.id == row.id).execute()
        return None
    if row.last_seen_at < now - TOUCH_EVERY:
        try:
            UserSession.update(last_seen_at=now).where(UserSession.id == row.id).execute()
        except DatabaseError as exc:
            # A database opened read-only (maintenance, a replica) still serves pages: when a
            # session was last seen is worth less than the page. Every other write answers 503.
            current_app.logger.info("session %s not touched: %s", row.id, exc)
        else:
            row.last_seen_at = now
    return row


def forget_expired():
    """End every session past its idle or absolute lifetime (abandoned ones are never used again)."""
    now = utcnow()
    idle, absolute = _lifetimes()
    return UserSession.delete().where((UserSession.last_seen_at < now - idle)
                                      | (UserSession.created_at < now - absolute)).execute()


def of_users(user_ids):
    """The sessions of these users, most recently used first, each with its user."""
    return list(UserSession.select(UserSession, User).join(User).where(UserSession.user.in_(user_ids))
                .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()))


def end(session_id, user_ids):
    """End one session if it belongs to one of these users; returns whether it did."""
    return bool(UserSession.delete().where(UserSession.id == session_id, UserSession.user.in_(user_ids))
                .execute())


def end_others(user, keep):
    """End every session of the user but `keep`; returns how many ended."""
    return UserSession.delete().where(UserSession.user == user.id, UserSession.id != keep.id).execute()
