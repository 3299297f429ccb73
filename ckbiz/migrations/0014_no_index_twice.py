"""Indexes that only repeat the first columns of another index on their table go: the longer one
serves every lookup they served (the foreign keys' cascades included), and each was one more
B-tree to update on every write: issuing an invoice updated one such index on invoice, one on
invoice_event and one on delivery for each of its deliveries."""

REPEATED = (
    ("invoice", "invoice_merchant_id"),  # invoice_merchant_id_number
    ("invoice_event", "invoiceevent_invoice_id"),  # invoiceevent_invoice_id_at
    ("delivery", "delivery_merchant_id"),  # delivery_merchant_id_channel_created_at
    ("auto_reminder", "autoreminder_invoice_id"),  # autoreminder_invoice_id_step_id_channel
    ("statement", "statement_merchant_id"),  # statement_merchant_id_created_at
    ("statement_line", "statementline_statement_id"),  # statementline_statement_id_outcome_line_no
    ("statement_line", "statementline_merchant_id"),  # statementline_merchant_id_date_number_…
    ("idempotent_request", "idempotentrequest_merchant_id"),  # idempotentrequest_merchant_id_key
)


def up(migrator, db):
    migrator.migrate(*(migrator.drop_index(table, name) for table, name in REPEATED))
