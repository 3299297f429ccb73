"""DATABASE_URL: every scheme peewee pools connects, on a pool of connections."""
import pytest
from playhouse.postgres_ext import PooledPostgresqlExtDatabase

from ckbiz import database
from conftest import PG_URL

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
