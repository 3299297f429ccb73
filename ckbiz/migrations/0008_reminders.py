"""Automatic reminders: a merchant's steps, each invoice's due reminders, and «Не напоминать».
The job reads pending reminders by due time, so only those have an index on it."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class Merchant(Model):
        class Meta:
            database = db
            table_name = "merchant"

    class Invoice(Model):
        class Meta:
            database = db
            table_name = "invoice"

    class ReminderStep(Model):
        merchant = ForeignKeyField(Merchant, on_delete="CASCADE")
        kind = CharField(max_length=16)
        hours = IntegerField()
        channels = CharField(max_length=8)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "reminder_step"

    class AutoReminder(Model):
        invoice = ForeignKeyField(Invoice, on_delete="CASCADE")
        step = ForeignKeyField(ReminderStep, on_delete="CASCADE")
        channel = CharField(max_length=8)
        due_at = DateTimeField()
        done_at = DateTimeField(null=True)
        outcome = CharField(max_length=16, default="")

        class Meta:
            database = db
            table_name = "auto_reminder"
            indexes = ((("invoice", "step", "channel"), True),)

    db.create_tables([ReminderStep, AutoReminder])
    db.execute_sql("CREATE INDEX auto_reminder_pending_due ON auto_reminder (due_at) WHERE done_at IS NULL")
    db.execute_sql("ALTER TABLE invoice ADD COLUMN auto_remind BOOLEAN NOT NULL DEFAULT TRUE")
