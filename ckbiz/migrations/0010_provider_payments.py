"""Real payment providers: a payment keeps the provider's own id for it (ЮKassa's payment id,
T-Bank's PaymentId) beside ours and how it is paid (card, СБП); reconcile reads pending
payments by age."""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("payment", "provider_ref", CharField(default="")),
        migrator.add_column("payment", "method", CharField(max_length=8, default="card")),
        migrator.add_index("payment", ("status", "created_at"), False),
    )
