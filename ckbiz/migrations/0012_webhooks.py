"""Webhooks: one URL per merchant and the nonce its signing secret is derived from; webhook
deliveries are outbox rows (channel "webhook") that keep the body they first sent, the answer
code and the time of their last attempt for the merchant's log."""
from peewee import CharField, DateTimeField, ForeignKeyField, Model


def up(migrator, db):
    class Merchant(Model):
        class Meta:
            database = db
            table_name = "merchant"

    class Webhook(Model):
        merchant = ForeignKeyField(Merchant, unique=True, on_delete="CASCADE")
        url = CharField()
        secret_nonce = CharField()
        created_at = DateTimeField()
        rotated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "webhook"

    db.create_tables([Webhook])
    for column, kind in (("payload", "TEXT"), ("answer_code", "INTEGER"), ("attempted_at", "TIMESTAMP")):
        db.execute_sql(f"ALTER TABLE delivery ADD COLUMN {column} {kind}")
    # The merchant's log: its latest webhook deliveries.
    db.execute_sql("CREATE INDEX delivery_merchant_webhooks ON delivery (merchant_id, id) WHERE channel = 'webhook'")
