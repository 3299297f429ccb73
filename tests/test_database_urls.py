"""DATABASE_URL: every scheme peewee pools connects, on a pool of connections."""
from contextlib import closing

import psycopg2
import pytest
from playhouse.postgres_ext import PooledPostgresqlExtDatabase

from ckbiz import database
from conftest import PG_URL
from live import wait_for

# The suite's PostgreSQL (README, "Tests"): the SQLite pass connects to it as well, only to read.
POSTGRES = PG_URL or "postgresql://postgres@127.0.0.1:5432/test"


def select_one(target):
    """Run SELECT 1 on a connection of the database's own."""
    with target.connection_context():
        return target.execute_sql("SELECT 1").fetchone()[0]


@pytest.mark.parametrize("scheme", ["postgresext", "postgresqlext"])
def test_a_postgresext_url_connects_on_a_pool(scheme):
    """postgresext:// (PostgreSQL with peewee's extensions) used to be handed the pool's options
    without the pool, which psycopg2 refused as an invalid connection option."""
    target = database.connect(f"{scheme}://" + POSTGRES.partition("://")[2])
    assert isinstance(target, PooledPostgresqlExtDatabase)
    try:
        assert select_one(target) == 1
    finally:
        target.close_all()


def test_a_scheme_peewee_does_not_know_is_named_in_the_error():
    """peewee 4 dropped SqliteExtDatabase: sqliteext:// is refused naming the scheme as written."""
    with pytest.raises(RuntimeError, match='"sqliteext"'):
        database.connect("sqliteext:///ckbiz.db")


def backend_of(target):
    """The server process of the pool's connection for this thread, found by asking on it."""
    with target.connection_context():
        return target.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def ask(query, pid):
    """One answer from PostgreSQL about the backend, on a connection of its own (autocommit:
    pg_stat_activity is otherwise a snapshot kept for the whole transaction)."""
    with closing(psycopg2.connect(POSTGRES)) as other:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute(query, (pid,))
            return cursor.fetchone()[0]


def test_taking_a_pooled_connection_sends_nothing_to_postgresql():
    """peewee's pool pinged with SELECT 1 on every checkout: a round trip per request."""
    target = database.connect(POSTGRES)
    try:
        pid = backend_of(target)
        with target.connection_context():
            target.connection()
            assert ask("SELECT query FROM pg_stat_activity WHERE pid = %s", pid) == "SELECT pg_backend_pid()"
    finally:
        target.close_all()


def test_a_pooled_connection_postgresql_closed_is_replaced_before_a_request_uses_it():
    """A restart or pg_terminate_backend while the connection idled in the pool: the next
    request gets a new connection and its answer, not an error."""
    target = database.connect(POSTGRES)
    try:
        pid = backend_of(target)
        assert ask("SELECT pg_terminate_backend(%s)", pid)
        wait_for(lambda: not ask("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid),
                 what="the backend to end")
        assert backend_of(target) != pid
    finally:
        target.close_all()
