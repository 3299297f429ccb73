"""Idempotency-Key on the API's POSTs: the first request with a key claims it and its answer is
kept for a day; the same key and request again get that answer and change nothing.

The claim is a row under a unique (merchant, key), inserted and committed before the work
starts: of two requests arriving at once exactly one inserts it; the other finds the row
still without an answer and is told to wait (409).
"""
import hashlib
from datetime import timedelta

from peewee import IntegrityError

from ..database import utcnow
from ..extensions import db
from ..models import IdempotentRequest

KEPT = timedelta(hours=24)
# A claim still without an answer after this long was left by a process that died mid-request
# (killed, or the database gone before it could give the key back): the next request takes it over.
ABANDONED = timedelta(minutes=2)
MAX_KEY = 255


def fingerprint(method, path, body):
    """What makes two requests the same request: method, path and body."""
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


def claim(merchant_id, key, print_):
    """Claim the key for this request. Returns (outcome, row): "new" (run it, then `finish`),
    "replay" (answer row's answer), "mismatch" (another request under this key), "running"."""
    for _attempt in range(2):
        try:
            with db.atomic():
                return "new", IdempotentRequest.create(merchant=merchant_id, key=key, fingerprint=print_)
        except IntegrityError:
            pass
        row = IdempotentRequest.get_or_none(IdempotentRequest.merchant == merchant_id, IdempotentRequest.key == key)
        if row is None:  # released or expired between the two statements: try once more
            continue
        now = utcnow()
        if row.created_at < now - KEPT or (row.status is None and row.created_at < now - ABANDONED):
            IdempotentRequest.delete().where(IdempotentRequest.id == row.id,
                                             IdempotentRequest.created_at == row.created_at).execute()
            continue
        if row.fingerprint != print_:
            return "mismatch", row
        return ("running" if row.status is None else "replay"), row
    return "running", None


def finish(row, status, body, location=""):
    """Keep the first request's answer for the requests that repeat it."""
    IdempotentRequest.update(status=status, body=body, location=location).where(
        IdempotentRequest.id == row.id).execute()


def release(row):
    """Give the key back (the request failed on our side): a retry will run it anew."""
    IdempotentRequest.delete().where(IdempotentRequest.id == row.id, IdempotentRequest.status.is_null()).execute()


def forget_old():
    """Drop the answers older than a day."""
    return IdempotentRequest.delete().where(IdempotentRequest.created_at < utcnow() - KEPT).execute()
