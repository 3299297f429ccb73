"""A payment whose start the provider left unanswered (a timeout, a 5xx) says so and when, so
that the next click reuses its idempotency key; a payment still being started by another
request (two people paying one link at the same moment) has not, and is not reused."""
from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column("payment", "unanswered_at", DateTimeField(null=True)))
    # Rows left unanswered before this column: the only pending ones without the provider's id.
    db.execute_sql("UPDATE payment SET unanswered_at = created_at WHERE status = 'pending' AND provider_ref = ''")
