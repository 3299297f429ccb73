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


class Prepared:
    """A query whose SQL is built once per kind of database; each run binds its own values.

    peewee builds a statement's text anew on every execution, about six calls per column. For
    the two queries behind nearly every request, the session with its user and merchant (every
    cabinet page) and the payer's invoice with its merchant, some sixty columns each, building
    took longer than the database took to answer.

    `build(*values)` makes the query. It is called once, with a marker for each value, and each
    run puts its values where the markers landed among the statement's parameters. A marker is
    text that no column type converts (peewee passes what it cannot convert through), so a value
    may stand beside a text, number or date column. Rows come as the query would give them
    (peewee's own cursor wrapper makes them).
    """

    def __init__(self, build):
        self._build = build
        self._built = None  # (the database's class, query, sql, params, the values' places)

    def all(self, *values):
        """The query's rows for these values."""
        query, sql, params, places = self._prepared(len(values))
        params = list(params)
        for place, value in zip(places, values):
            params[place] = value
        return list(query._get_cursor_wrapper(_database_of(query).execute_sql(sql, params)))

    def first(self, *values):
        """The query's first row for these values, or None."""
        rows = self.all(*values)
        return rows[0] if rows else None

    def _prepared(self, count):
        if self._built is not None:
            kind, query, sql, params, places = self._built
            # The suite binds the models to SQLite or to PostgreSQL, whose SQL differs.
            if _kind(query) is kind:
                return query, sql, params, places
        markers = [f"\x00prepared value {i}\x00" for i in range(count)]
        query = self._build(*markers)
        sql, params = query.sql()
        if [params.count(marker) for marker in markers] != [1] * count:
            raise ValueError("each value of a prepared query must reach its parameters once, unchanged")
        places = [params.index(marker) for marker in markers]
        self._built = (_kind(query), query, sql, params, places)
        return query, sql, params, places


def _database_of(query):
    """The database the query's model is bound to now (a test may bind it to another for a while)."""
    return query.model._meta.database


def _kind(query):
    """The class of the database the query runs on (through the models' proxy)."""
    database = _database_of(query)
    return type(getattr(database, "obj", database))


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
