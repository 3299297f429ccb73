"""DATABASE_URL: every scheme peewee pools connects, on a pool of connections."""
import pytest
from playhouse.postgres_ext import PooledPostgresqlExtDatabase

from ckbiz import database
from conftest import PG_URL


def select_one(target):
    """Run SELECT 1 on a connection of the database's own."""
    with target.connection_context():
        return target.execute_sql("SELECT 1").fetchone()[0]


# No sqliteext:// test: peewee 4 has no SqliteExtDatabase, and its db_url knows neither
# sqliteext nor sqliteext+pool, so that URL is refused before and after the fix alike.

# Only the PostgreSQL pass has a database to connect to; -ra lists the skip in the SQLite pass.
@pytest.mark.skipif(not PG_URL.startswith("postgres"), reason="needs CKBIZ_TEST_DATABASE_URL (the PostgreSQL pass)")
def test_a_postgresext_url_connects_on_a_pool():
    """postgresext:// (PostgreSQL with peewee's extensions) used to be handed the pool's options
    without the pool, which psycopg2 refused as an invalid connection option."""
    target = database.connect("postgresext://" + PG_URL.partition("://")[2])
    try:
        assert select_one(target) == 1
        assert isinstance(target, PooledPostgresqlExtDatabase)
    finally:
        target.close_all() if isinstance(target, PooledPostgresqlExtDatabase) else target.close()
