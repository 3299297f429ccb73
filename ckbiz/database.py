"""The peewee database: built from DATABASE_URL, migrated by init-db."""
import os
import select
from datetime import UTC, datetime
from urllib.parse import quote

from peewee import SqliteDatabase
from playhouse import db_url
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.postgres_ext import PooledPostgresqlExtDatabase

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "cache_size": -64000,
    "synchronous": 1,
}


# Connections outlive requests: opening one (and, on SQLite, setting its pragmas)
# cost more than all the queries of a history page. Idle ones are renewed after
# STALE_SECONDS so a restarted PostgreSQL is not remembered for long.
POOLED = {"sqlite": "sqlite+pool", "postgres": "postgres+pool", "postgresql": "postgresql+pool",
          "postgresext": "postgresext+pool", "postgresqlext": "postgresqlext+pool"}
STALE_SECONDS = 300


class SilentCheckout:
    """A PostgreSQL pool whose checkout costs no round trip.

    peewee's pool sends SELECT 1 on every checkout to find connections the server has closed:
    a round trip on every request, as many as the payer page's own query. A connection
    PostgreSQL closed while it idled here (a restart, pg_terminate_backend,
    idle_session_timeout) has the server's goodbye waiting in its socket, which is readable
    then, and that is checked locally instead. A connection cut without a goodbye (a lost
    network) fails its next request with the 503 any database outage gives, and is discarded.
    """

    def _is_closed(self, conn):
        return bool(conn.closed) or bool(select.select([conn], [], [], 0)[0])


class PostgresPool(SilentCheckout, PooledPostgresqlDatabase):
    pass


class PostgresExtPool(SilentCheckout, PooledPostgresqlExtDatabase):
    pass


db_url.register_database(PostgresPool, "postgres+pool", "postgresql+pool")
db_url.register_database(PostgresExtPool, "postgresext+pool", "postgresqlext+pool")


def connect(url, timeout=10):
    """A pooled Database for the URL; SQLite gets WAL, a busy timeout and IMMEDIATE writes.

    Any scheme peewee pools is pooled; one it does not (mysql://, cockroachdb://) gets a
    plain connection and no pool options, which its driver would refuse.
    """
    scheme, separator, rest = url.partition("://")
    pooled_scheme = POOLED.get(scheme, scheme)
    pooled = pooled_scheme + separator + rest
    pool = {"max_connections": None, "stale_timeout": STALE_SECONDS} if pooled_scheme.endswith("+pool") else {}
    if scheme.startswith("sqlite"):
        # A deferred transaction that reads and then writes fails at once with
        # "database is locked", ignoring the busy timeout; IMMEDIATE waits.
        # A pooled connection serves one thread at a time, but not always the same one.
        pooled, options = sqlite_uri(pooled)
        database = db_url.connect(pooled, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE",
                                  check_same_thread=False, **options, **pool)
        # The pool takes `timeout` as its own wait for a free connection; this is SQLite's.
        database.timeout = timeout
        return database
    return db_url.connect(pooled, **pool)


def sqlite_uri(url):
    """Hand a SQLite URL's query to SQLite itself, as a `file:` URI.

    sqlite:////var/lib/ckbiz/ckbiz.db?mode=ro opens the file read-only (a replica, a
    maintenance window): writes then fail, and the app answers them with a 503.
    Returns the URL without its query and the extra connect() arguments.
    """
    base, _, query = url.partition("?")
    if not query:
        return url, {}
    path = base.partition(":///")[2]
    return base, {"database": f"file:{quote(path)}?{query}", "uri": True}


def is_sqlite(database):
    """True when the database (or the proxy's target) is SQLite."""
    return isinstance(getattr(database, "obj", database), SqliteDatabase)


def migrate(database):
    """Apply pending migrations; returns their names (empty when up to date)."""
    with database.connection_context():
        return Runner(database, MIGRATIONS).up()


def utcnow():
    """The current UTC time as a naive datetime, the way every column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)
