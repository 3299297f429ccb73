"""Rate limits shared by every process: counters in the database, or in Redis when configured."""
import time
from datetime import UTC, datetime, timedelta

from flask import current_app, request

from .database import utcnow
from .models import RateCounter


def _window(name, subject, seconds):
    """The counter key and the start of the current window."""
    start = int(time.time()) // seconds * seconds
    return f"{name}:{subject}", start


def hit(name, subject, seconds):
    """Count one attempt of `name` by `subject` in the current window; returns the new count."""
    key, start = _window(name, subject, seconds)
    redis = _redis()
    if redis is not None:
        pipe = redis.pipeline()
        pipe.incr(f"ckbiz:limit:{key}:{start}")
        pipe.expire(f"ckbiz:limit:{key}:{start}", seconds)
        return pipe.execute()[0]
    rows = (RateCounter.insert(key=key, window_start=_moment(start), count=1)
            .on_conflict(conflict_target=[RateCounter.key, RateCounter.window_start],
                         update={RateCounter.count: RateCounter.count + 1})
            .returning(RateCounter.count).execute())
    return list(rows)[0].count


def hits(name, subject, seconds):
    """How many attempts were counted in the current window, without counting one more."""
    key, start = _window(name, subject, seconds)
    redis = _redis()
    if redis is not None:
        return int(redis.get(f"ckbiz:limit:{key}:{start}") or 0)
    return (RateCounter.select(RateCounter.count)
            .where(RateCounter.key == key, RateCounter.window_start == _moment(start)).scalar() or 0)


def _moment(start):
    """A window start as the naive UTC datetime the table stores."""
    return datetime.fromtimestamp(start, UTC).replace(tzinfo=None)


def _redis():
    """The Redis client when RATELIMIT_STORAGE_URL names one, else None (the database counts)."""
    url = current_app.config["RATELIMIT_STORAGE_URL"]
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = current_app.extensions.get("ckbiz_redis")
    if client is None:
        import redis

        from .extensions import with_timeouts

        client = current_app.extensions["ckbiz_redis"] = redis.Redis.from_url(with_timeouts(url))
    return client


def client_address():
    """The caller's address (ProxyFix makes it the real one behind nginx)."""
    return request.remote_addr or "unknown"


def forget_old():
    """Drop counters whose window ended more than a day ago."""
    return RateCounter.delete().where(RateCounter.window_start < utcnow() - timedelta(days=1)).execute()
