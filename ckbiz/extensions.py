"""Unbound extension objects; the app factory binds them to an app.

The huey object is the one exception: tasks bind to it at import time, so it is
built here from the environment (CKBIZ_HUEY_URL, CKBIZ_INSTANCE_PATH) before any
app exists, exactly as the consumer will see it.
"""
import os

from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from huey import RedisHuey, SqliteHuey
from peewee import DatabaseProxy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

db = DatabaseProxy()
login = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def instance_path():
    """The instance folder: CKBIZ_INSTANCE_PATH, or ./instance of the checkout."""
    path = os.environ.get("CKBIZ_INSTANCE_PATH") or os.path.join(ROOT, "instance")
    return os.path.abspath(path)


def make_huey(url=None):
    """SqliteHuey in the instance folder by default, RedisHuey for a redis:// URL."""
    url = url if url is not None else os.environ.get("CKBIZ_HUEY_URL", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("ckbiz", url=url)
    if url.startswith("sqlite:///"):
        filename = url[len("sqlite:///"):]
    elif url:
        raise ValueError(f"CKBIZ_HUEY_URL: unsupported queue URL {url!r}")
    else:
        folder = instance_path()
        os.makedirs(folder, exist_ok=True)
        filename = os.path.join(folder, "huey.db")
    return SqliteHuey("ckbiz", filename=filename)


huey = make_huey()
