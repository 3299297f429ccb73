"""Real payment providers: a payment keeps the provider's own id for it (ЮKassa's payment id,
T-Bank's PaymentId) beside ours, and reconcile reads pending payments by age."""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("payment", "provider_ref", CharField(default="")),
        migrator.add_index("payment", ("status", "created_at"), False),
    )
