"""The initial schema: frozen copies of the models as first released."""
from peewee import *

def up(migrator, db):
    class Captcha(Model):
        key = CharField(unique=True)
        answer_hash = CharField()
        expires_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'captcha'
    db.create_tables([Captcha])

    class Merchant(Model):
        phone = CharField(unique=True, max_length=10)
        name = CharField(default='')
        email = CharField(null=True)
        password_hash = CharField()
        session_token = CharField(unique=True)
        active = BooleanField(default=True)
        timezone = CharField(default='')
        default_validity_hours = IntegerField(null=True)
        copy_invoices = BooleanField(default=False)
        copy_email = CharField(null=True)
        temp_password_hash = CharField(null=True)
        temp_password_expires_at = DateTimeField(null=True)
        must_change_password = BooleanField(default=False)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'merchant'
    db.create_tables([Merchant])

    class Organisation(Model):
        merchant = ForeignKeyField(Merchant, on_delete='CASCADE')
        name = CharField()
        inn = CharField(max_length=12)
        kpp = CharField(max_length=9, default='')
        account = CharField(max_length=20)
        bik = CharField(max_length=9)
        bank_name = CharField()
        corr_account = CharField(max_length=20)
        recipient = CharField()
        class Meta:
            database = db
            table_name = 'organisation'
    db.create_tables([Organisation])

    class Service(Model):
        merchant = ForeignKeyField(Merchant, on_delete='CASCADE')
        organisation = ForeignKeyField(Organisation)
        display_name = CharField()
        title = CharField()
        category = CharField(default='Прочие')
        fields = TextField()
        commission_bp = IntegerField(default=0)
        commission_min_kop = BigIntegerField(default=0)
        commission_max_kop = BigIntegerField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'service'
    db.create_tables([Service])

    class Invoice(Model):
        number = AutoField()
        token = CharField(unique=True)
        merchant = ForeignKeyField(Merchant, on_delete='CASCADE')
        service = ForeignKeyField(Service)
        payer_phone = CharField(null=True, max_length=10)
        payer_email = CharField(null=True)
        requisites = TextField()
        key_label = CharField(default='')
        key_value = CharField(default='')
        comment = TextField(default='')
        amount_kop = BigIntegerField()
        commission_kop = BigIntegerField()
        issued_with = TextField()
        issued_at = DateTimeField()
        expires_at = DateTimeField()
        status = CharField(max_length=16, default='issued')
        paid_at = DateTimeField(null=True)
        paid_by = CharField(null=True, max_length=8)
        status_changed_at = DateTimeField()
        viewed_at = DateTimeField(null=True)
        repeat_of = ForeignKeyField('self', null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'invoice'
            indexes = ((('merchant', 'number'), False), (('merchant', 'status', 'number'), False), (('merchant', 'key_value', 'number'), False), (('merchant', 'payer_phone', 'number'), False), (('merchant', 'payer_email', 'number'), False), (('status', 'expires_at'), False), (('status', 'paid_at'), False))
    db.create_tables([Invoice])

    class Delivery(Model):
        merchant = ForeignKeyField(Merchant, on_delete='CASCADE')
        invoice = ForeignKeyField(Invoice, null=True, on_delete='CASCADE')
        channel = CharField(max_length=8)
        kind = CharField(max_length=24)
        recipient = CharField()
        state = CharField(max_length=8, default='pending')
        attempts = IntegerField(default=0)
        last_error = TextField(default='')
        message_id = CharField(default='')
        lease_until = DateTimeField(null=True)
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'delivery'
            indexes = ((('state', 'lease_until'), False), (('merchant', 'created_at'), False))
    db.create_tables([Delivery])

    class InvoiceEvent(Model):
        invoice = ForeignKeyField(Invoice, on_delete='CASCADE')
        kind = CharField(max_length=24)
        at = DateTimeField()
        note = TextField(default='')
        class Meta:
            database = db
            table_name = 'invoice_event'
            indexes = ((('invoice', 'at'), False),)
    db.create_tables([InvoiceEvent])

    class Payment(Model):
        invoice = ForeignKeyField(Invoice, on_delete='CASCADE')
        gateway = CharField(max_length=32)
        provider_payment_id = CharField()
        amount_kop = BigIntegerField()
        currency = CharField(max_length=3, default='RUB')
        status = CharField(max_length=16, default='pending')
        attention = CharField(default='')
        created_at = DateTimeField()
        confirmed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'payment'
            indexes = ((('gateway', 'provider_payment_id'), True),)
    db.create_tables([Payment])

    class PaymentNotification(Model):
        gateway = CharField(max_length=32)
        event_id = CharField()
        received_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'payment_notification'
            indexes = ((('gateway', 'event_id'), True),)
    db.create_tables([PaymentNotification])

    class PhoneCode(Model):
        phone = CharField(unique=True, max_length=10)
        code_hash = CharField()
        expires_at = DateTimeField()
        attempts = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'phone_code'
    db.create_tables([PhoneCode])

    class RateCounter(Model):
        key = CharField()
        window_start = DateTimeField()
        count = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'rate_counter'
            indexes = ((('key', 'window_start'), True),)
    db.create_tables([RateCounter])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('rate_counter'))
    migrator.migrate(migrator.drop_table('phone_code'))
    migrator.migrate(migrator.drop_table('payment_notification'))
    migrator.migrate(migrator.drop_table('payment'))
    migrator.migrate(migrator.drop_table('invoice_event'))
    migrator.migrate(migrator.drop_table('delivery'))
    migrator.migrate(migrator.drop_table('invoice'))
    migrator.migrate(migrator.drop_table('service'))
    migrator.migrate(migrator.drop_table('organisation'))
    migrator.migrate(migrator.drop_table('merchant'))
    migrator.migrate(migrator.drop_table('captcha'))

