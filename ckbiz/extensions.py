"""Unbound extension objects; the app factory binds them to an app.

The huey object is the one exception: tasks bind to it at import time, so it is
built here from the environment (CKBIZ_HUEY_URL, CKBIZ_INSTANCE_PATH) before any
app exists, exactly as the consumer will see it.
"""
import os
from urllib.parse import parse_qsl, urlencode

from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail
from flask_wtf.csrf import CSRFProtect
from huey import RedisHuey, SqliteHuey
from peewee import DatabaseProxy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

db = DatabaseProxy()
login = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Builds every e-mail (flask_mail.Message reads its settings); delivery/mail.py sends them.
mail = Mail()


def instance_path():
    """The instance folder: CKBIZ_INSTANCE_PATH, or ./instance of the checkout."""
    path = os.environ.get("CKBIZ_INSTANCE_PATH") or os.path.join(ROOT, "instance")
    return os.path.abspath(path)


def private_instance():
    """The instance folder, made private to this user: 0700, and everything this process
    writes from now on 0600 (the umask: SQLite databases with their WAL and SHM files, the
    queue, sms.log, outbox e-mails, generated secrets, font copies). Closing the folder also
    hides files an older version wrote 0644."""
    path = instance_path()
    os.umask(0o077)
    os.makedirs(path, mode=0o700, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except PermissionError:  # a folder another user owns keeps the modes its owner chose
        pass
    return path


def make_huey(url=None, name="ckbiz"):
    """SqliteHuey in the instance folder by default, RedisHuey for a redis:// URL; `name` is the
    queue within that storage."""
    url = url if url is not None else os.environ.get("CKBIZ_HUEY_URL", "")
    # Tasks record what they did in the database (an outbox row's state); huey would also keep
    # every return value in its result store, which nothing reads: one write per task, and a
    # store that only grows.
    if is_redis_url(url):
        return RedisHuey(name, url=with_timeouts(url), results=False)
    if url.startswith("sqlite:///"):
        filename = url[len("sqlite:///"):]
    elif url:
        raise ValueError(f"CKBIZ_HUEY_URL: unsupported queue URL {url!r}")
    else:
        filename = os.path.join(private_instance(), "huey.db")
    return SqliteHuey(name, filename=filename, results=False)


def is_redis_url(url):
    """True for a URL that names a Redis server (the queue's or the rate limits')."""
    return url.startswith(("redis://", "rediss://", "unix://"))


# A Redis that accepts connections but never answers (frozen, partitioned) must cost a
# request seconds, not hang it until gunicorn kills the worker: the outbox row is already
# written and the sweeper sends it. The consumer's blocking read waits 1 s, well inside.
REDIS_TIMEOUTS = {"socket_connect_timeout": "3", "socket_timeout": "5"}


def with_timeouts(url):
    """The Redis URL with connect and read timeouts, unless it sets its own."""
    base, _, query = url.partition("?")
    return base + "?" + urlencode({**REDIS_TIMEOUTS, **dict(parse_qsl(query))})


huey = make_huey()
# Payments and the messages that must not wait behind ordinary mail (a silent SMTP server holds
# a thread for MAIL_TIMEOUT per message): a queue of their own in the same storage, consumed
# by threads of their own (worker.run).
urgent_huey = make_huey(name="ckbiz-urgent")
QUEUES = (huey, urgent_huey)
