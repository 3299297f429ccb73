"""Bank statements: each upload, and each payment line of it with what became of it. A payment is
known by (merchant, date, number, amount, payer account), so importing it again changes nothing."""
from peewee import BigIntegerField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Merchant(Model):
        class Meta:
            database = db
            table_name = "merchant"

    class Users(Model):
        class Meta:
            database = db
            table_name = "users"

    class Invoice(Model):
        class Meta:
            database = db
            table_name = "invoice"

    class Statement(Model):
        merchant = ForeignKeyField(Merchant, on_delete="CASCADE")
        uploaded_by = ForeignKeyField(Users, null=True, on_delete="SET NULL")
        actor = CharField(default="")
        file_name = CharField(default="")
        account = CharField(max_length=20, default="")
        date_from = DateField(null=True)
        date_to = DateField(null=True)
        opening_kop = BigIntegerField(null=True)
        closing_kop = BigIntegerField(null=True)
        created_at = DateTimeField()
        paid_count = IntegerField(default=0)
        suggested_count = IntegerField(default=0)
        unmatched_count = IntegerField(default=0)
        ignored_count = IntegerField(default=0)
        known_count = IntegerField(default=0)

        class Meta:
            database = db
            table_name = "statement"
            indexes = ((("merchant", "created_at"), False),)

    class StatementLine(Model):
        statement = ForeignKeyField(Statement, on_delete="CASCADE")
        merchant = ForeignKeyField(Merchant, on_delete="CASCADE")
        line_no = IntegerField()
        date = DateField()
        number = CharField(max_length=32)
        amount_kop = BigIntegerField()
        payer_name = CharField(default="")
        payer_inn = CharField(max_length=12, default="")
        payer_account = CharField(max_length=20, default="")
        purpose = TextField(default="")
        found_number = BigIntegerField(null=True)
        outcome = CharField(max_length=10)
        reason = CharField(default="")
        invoice = ForeignKeyField(Invoice, null=True, on_delete="SET NULL")
        decided_at = DateTimeField(null=True)
        decided_by = CharField(default="")

        class Meta:
            database = db
            table_name = "statement_line"
            indexes = (
                (("merchant", "date", "number", "amount_kop", "payer_account"), True),
                (("statement", "outcome", "line_no"), False),
            )

    db.create_tables([Statement, StatementLine])
