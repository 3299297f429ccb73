"""A payment to return waits as refund_state "due" rather than only in its attention text, so the
history's banner and filter find such payments by an index instead of reading every payment."""


def up(migrator, db):
    db.execute_sql(f"UPDATE payment SET refund_state = 'due' WHERE attention LIKE {db.param} AND refund_state = ''",
                   ("refund:%",))
    migrator.migrate(migrator.add_index("payment", ("refund_state", "invoice_id"), False))
