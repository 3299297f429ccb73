"""Invoice numbers per merchant. The old global number stays as the internal id that other
tables refer to (renaming the column keeps their references); `number` starts as a copy of
it, so every existing invoice keeps the number it was sent with, and each merchant goes on
from its highest."""
from ckbiz.database import is_sqlite

RENUMBERED_INDEXES = (
    ("invoice_merchant_id_status_number", "merchant_id, status, number"),
    ("invoice_merchant_id_key_value_number", "merchant_id, key_value, number"),
    ("invoice_merchant_id_payer_phone_number", "merchant_id, payer_phone, number"),
    ("invoice_merchant_id_payer_email_number", "merchant_id, payer_email, number"),
)


def up(migrator, db):
    sql = db.execute_sql
    sql("ALTER TABLE invoice RENAME COLUMN number TO id")
    sql("ALTER TABLE invoice ADD COLUMN number BIGINT NOT NULL DEFAULT 0")
    sql("UPDATE invoice SET number = id")
    sql("DROP INDEX invoice_merchant_id_number")
    sql("CREATE UNIQUE INDEX invoice_merchant_id_number ON invoice (merchant_id, number)")
    for name, columns in RENUMBERED_INDEXES:
        sql(f"DROP INDEX {name}")
        sql(f"CREATE INDEX {name} ON invoice ({columns})")
    sql("ALTER TABLE merchant ADD COLUMN last_invoice_number BIGINT NOT NULL DEFAULT 0")
    sql("UPDATE merchant SET last_invoice_number = "
        "COALESCE((SELECT MAX(number) FROM invoice WHERE invoice.merchant_id = merchant.id), 0)")
    if not is_sqlite(db):
        sql("ALTER SEQUENCE invoice_number_seq RENAME TO invoice_id_seq")
