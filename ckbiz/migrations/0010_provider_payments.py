"""Real payment providers: a payment keeps the provider's own id for it (ЮKassa's payment id,
T-Bank's PaymentId) beside ours, how it is paid (card, СБП) and its refund; reconcile reads
pending payments by age. A merchant names its tax system for 54-ФЗ receipts."""
from peewee import CharField, DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("payment", "provider_ref", CharField(default="")),
        migrator.add_column("payment", "method", CharField(max_length=8, default="card")),
        migrator.add_column("payment", "refund_state", CharField(max_length=10, default="")),
        migrator.add_column("payment", "refund_started_at", DateTimeField(null=True)),
        migrator.add_index("payment", ("status", "created_at"), False),
        migrator.add_column("merchant", "tax_system", CharField(max_length=20, default="")),
    )
