"""The peewee database: built from DATABASE_URL, migrated by init-db."""
import os
from datetime import UTC, datetime

from playhouse import db_url
from playhouse.migrations import Runner

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "cache_size": -64000,
    "synchronous": 1,
}


def connect(url, timeout=10):
    """A Database for the URL; SQLite gets WAL, a busy timeout and IMMEDIATE writes."""
    if url.startswith("sqlite"):
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked", ignoring the busy timeout; IMMEDIATE waits.
        return db_url.connect(url, pragmas=SQLITE_PRAGMAS, timeout=timeout, lock_type="IMMEDIATE")
    return db_url.connect(url)


def is_sqlite(database):
    """True when the database (or the proxy's target) is SQLite."""
    target = getattr(database, "obj", database)
    return target.__class__.__name__.startswith("Sqlite")


def migrate(database):
    """Apply pending migrations; returns their names (empty when up to date)."""
    with database.connection_context():
        return Runner(database, MIGRATIONS).up()


def utcnow():
    """The current UTC time as a naive datetime, the way every column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)
