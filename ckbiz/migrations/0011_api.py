"""The merchant API: its keys (only digests kept) and the answers kept for Idempotency-Key."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Merchant(Model):
        class Meta:
            database = db
            table_name = "merchant"

    class ApiKey(Model):
        merchant = ForeignKeyField(Merchant, on_delete="CASCADE")
        name = CharField()
        prefix = CharField(max_length=16)
        key_hash = CharField(unique=True)
        created_at = DateTimeField()
        created_by = CharField(default="")
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "api_key"

    class IdempotentRequest(Model):
        merchant = ForeignKeyField(Merchant, on_delete="CASCADE")
        key = CharField(max_length=255)
        fingerprint = CharField(max_length=64)
        created_at = DateTimeField()
        status = IntegerField(null=True)
        body = TextField(default="")
        location = CharField(default="")

        class Meta:
            database = db
            table_name = "idempotent_request"
            indexes = ((("merchant", "key"), True), (("created_at",), False))

    db.create_tables([ApiKey, IdempotentRequest])
