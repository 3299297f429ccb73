"""The data model. Money is integer kopecks; times are naive UTC.

A foreign key whose column leads a longer index of its table has no index of its own
(`index=False`): the longer one serves its lookups and cascades, and every write would
otherwise update both (migration 0014).
"""
import json
import secrets

from flask_login import UserMixin
from peewee import (
    BigIntegerField, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField,
    IntegerField, AutoField, Model, TextField,
)

from .database import utcnow
from .extensions import db


class JSONField(TextField):
    """JSON kept as text, so SQLite and PostgreSQL store it the same way."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


# The largest id a database column can hold (a 64-bit signed integer); SQLite cannot
# even bind a larger Python int, so ids from requests are checked against it first.
MAX_ID = 2**63 - 1


def new_token():
    """A random URL-safe token of 192 bits."""
    return secrets.token_urlsafe(24)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Merchant(BaseModel):
    """A business that issues invoices: its settings, and the users who work in its cabinet."""

    name = CharField(default="")
    email = CharField(null=True)  # contact address for "invoice paid" notices
    active = BooleanField(default=True)  # a disabled merchant's users cannot log in
    timezone = CharField(default="")  # empty: the installation's DEFAULT_TIMEZONE
    default_validity_hours = IntegerField(null=True)
    copy_invoices = BooleanField(default=False)
    copy_email = CharField(null=True)
    attach_pdf = BooleanField(default=False)  # «Прикладывать PDF к письму»
    tax_system = CharField(max_length=20, default="")  # «Система налогообложения»; "": ОСН
    # The number of the merchant's latest invoice: each merchant numbers its own 1, 2, 3 …
    last_invoice_number = BigIntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class User(BaseModel, UserMixin):
    """A person who logs in to a merchant's cabinet with their own phone and password.

    An invited user has no password until they open the one-time link of their SMS;
    until then `invite_hash` holds the digest of that link's token.
    """

    merchant = ForeignKeyField(Merchant, backref="users", on_delete="CASCADE")
    phone = CharField(max_length=10, unique=True)  # 9XXXXXXXXX: one user of one merchant
    name = CharField(default="")
    role = CharField(max_length=16, default="owner")  # owner | accountant | viewer (domain.roles)
    password_hash = CharField(null=True)
    temp_password_hash = CharField(null=True)
    temp_password_expires_at = DateTimeField(null=True)
    must_change_password = BooleanField(default=False)
    invite_hash = CharField(null=True)
    invite_expires_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "users"  # "user" is a reserved word in PostgreSQL

    # The session this request came in on (set by the login loader), and its cookie token.
    session = None
    session_token = None

    def get_id(self):
        """What Flask-Login keeps in the cookie: the session's token, never the user's id."""
        return self.session_token

    @property
    def is_active(self):
        """Invited users cannot log in until they set a password; nobody of a disabled merchant can."""
        return self.password_hash is not None and self.merchant.active

    @property
    def signature(self):
        """How events name this user: «Иванова А.» for «Иванова Анна»; the name, or the phone."""
        parts = self.name.split()
        if len(parts) >= 2:
            return f"{parts[0]} {parts[1][0]}."
        return self.name or f"+7{self.phone}"

    @classmethod
    def of(cls, merchant):
        """The merchant's users, in the order they joined."""
        return cls.select().where(cls.merchant == merchant).order_by(cls.created_at, cls.id)


class UserSession(BaseModel):
    """One login on one device: the cookie holds a random token, this row its digest."""

    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    token_hash = CharField(unique=True)
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    address = CharField(default="")
    user_agent = CharField(default="")


class Organisation(BaseModel):
    merchant = ForeignKeyField(Merchant, backref="organisations", on_delete="CASCADE")
    name = CharField()
    inn = CharField(max_length=12)
    kpp = CharField(max_length=9, default="")
    account = CharField(max_length=20)
    bik = CharField(max_length=9)
    bank_name = CharField()
    corr_account = CharField(max_length=20)
    recipient = CharField()


class Service(BaseModel):
    merchant = ForeignKeyField(Merchant, backref="services", on_delete="CASCADE")
    organisation = ForeignKeyField(Organisation, backref="services")
    display_name = CharField()  # what the merchant renames (§7.4.1)
    title = CharField()
    category = CharField(default="Прочие")
    # [{"name", "label", "kind", "required", "key"}]; exactly one field is the key.
    fields = JSONField()
    commission_bp = IntegerField(default=0)  # hundredths of a percent: 150 = 1.5 %
    commission_min_kop = BigIntegerField(default=0)
    commission_max_kop = BigIntegerField(null=True)
    vat = CharField(max_length=4, default="none")  # the VAT rate of its one line: domain.positions.VAT_RATES
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def of(cls, merchant):
        """The merchant's own services, in the order they were added."""
        return cls.select().where(cls.merchant == merchant).order_by(cls.id)


class Invoice(BaseModel):
    """An invoice, and the state machine of DESIGN.md's statuses table (domain.lifecycle moves it):

        issued ──card payment──▶ paid (card) ──settlement──▶ transferred
          │  ├──«Оплачен другим способом»──▶ paid (other)
          │  ╰──a bank statement line with its number and amount──▶ paid (transfer)
          ├──«Отменить»──▶ cancelled
          ╰──expires_at passed──▶ expired ──card payment begun before expiry, or
                                            «Оплачен другим способом», or a statement──▶ paid

    Nothing leaves paid (other), paid (transfer), transferred or cancelled; a card payment that arrives
    for an invoice it can no longer pay is recorded as needing a refund, and the invoice
    keeps its status. `number` is the merchant's own (shown everywhere); `id` is for
    references between tables only and never leaves the database.
    """

    id = AutoField()
    number = BigIntegerField()
    token = CharField(unique=True, default=new_token)  # the payer link's secret
    merchant = ForeignKeyField(Merchant, backref="invoices", on_delete="CASCADE", index=False)
    service = ForeignKeyField(Service, backref="invoices")
    payer_phone = CharField(max_length=10, null=True)
    payer_email = CharField(null=True)
    requisites = JSONField()  # [{"name", "label", "value", "key"}] as issued
    key_label = CharField(default="")
    key_value = CharField(default="")
    comment = TextField(default="")
    amount_kop = BigIntegerField()
    commission_kop = BigIntegerField()
    # [{"name", "quantity" (decimal text), "unit", "price_kop", "vat", "amount_kop"}]; empty: one line
    # with the service title (domain.positions.lines_of)
    positions = JSONField(default=list)
    payer_org = JSONField(null=True)  # {"name", "inn", "kpp"}: «Покупатель» on the PDF
    # What the invoice was issued with: payee requisites, service title, category,
    # commission rule. Later edits to the service never change a sent invoice.
    issued_with = JSONField()
    issued_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    status = CharField(max_length=16, default="issued")
    paid_at = DateTimeField(null=True)
    paid_by = CharField(max_length=8, null=True)  # "card" | "other" | "transfer" (a bank statement)
    status_changed_at = DateTimeField(default=utcnow)
    viewed_at = DateTimeField(null=True)
    repeat_of = ForeignKeyField("self", null=True, backref="repeats", on_delete="SET NULL")
    # Who issued it and who last moved its status, as its events name them (the CSV shows both).
    issued_by = CharField(default="")
    status_changed_by = CharField(default="")
    auto_remind = BooleanField(default=True)  # off: «Не напоминать», the merchant's steps skip it

    class Meta:
        indexes = (
            (("merchant", "number"), True),
            (("merchant", "status", "number"), False),
            (("merchant", "key_value", "number"), False),
            (("merchant", "payer_phone", "number"), False),
            (("merchant", "payer_email", "number"), False),
            (("status", "expires_at"), False),
            (("status", "paid_at"), False),
            (("merchant", "paid_at"), False),  # the chart of «Сводка»: its paid line, by payment date
        )

    @classmethod
    def of(cls, merchant):
        """The merchant's invoices; every query for merchant data starts here."""
        return cls.select().where(cls.merchant == merchant)


# «Сводка» and the history's period: every column a period's numbers read, so they come from the
# index alone (named: the generated name would pass PostgreSQL's 63 characters).
Invoice.add_index(Invoice.index(Invoice.merchant, Invoice.issued_at, Invoice.status, Invoice.amount_kop,
                                Invoice.paid_at, Invoice.service, name="invoice_period"))


class InvoiceEvent(BaseModel):
    invoice = ForeignKeyField(Invoice, backref="events", on_delete="CASCADE", index=False)
    kind = CharField(max_length=24)
    at = DateTimeField(default=utcnow)
    note = TextField(default="")
    actor = CharField(default="")  # who did it: «Иванова А.», «API: Магазин», «оператор»; "" for ckbiz itself

    class Meta:
        indexes = ((("invoice", "at"), False),)


class Delivery(BaseModel):
    """One e-mail or SMS in the outbox, written with the change that causes it:

        pending ──leased by a worker──▶ sending ──server took it──▶ sent
           ▲                              │
           ╰──passing failure (backoff)───┤
                                          ╰──permanent failure, or out of attempts──▶ failed

    A row "sending" past its lease belongs to a worker that died; the sweeper queues it
    again (it keeps its Message-ID, so a resend is recognisably the same message), and
    `deliveries retry` gives failed rows a fresh budget.
    """

    # Empty only for a registration code, sent before the merchant exists.
    merchant = ForeignKeyField(Merchant, null=True, backref="deliveries", on_delete="CASCADE", index=False)
    invoice = ForeignKeyField(Invoice, null=True, backref="deliveries", on_delete="CASCADE")
    # The user a message is about: a temporary password, an invitation, a changed password.
    user = ForeignKeyField(User, null=True, backref="deliveries", on_delete="SET NULL")
    channel = CharField(max_length=8)  # "email" | "sms" | "webhook"
    kind = CharField(max_length=24)  # for a webhook: its event type (domain.webhooks.EVENTS)
    recipient = CharField()
    state = CharField(max_length=8, default="pending")  # pending|sending|sent|failed
    attempts = IntegerField(default=0)
    last_error = TextField(default="")
    message_id = CharField(default="")
    lease_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    # A webhook's body, fixed at its first attempt so every attempt carries the same event;
    # the last answer's HTTP code and when the last attempt was made (the merchant's log).
    payload = TextField(null=True)
    answer_code = IntegerField(null=True)
    attempted_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("state", "lease_until"), False),
            (("merchant", "channel", "created_at"), False),  # the daily SMS cap
        )


# The merchant's webhook log reads its latest webhook rows only.
Delivery.add_index(Delivery.index(Delivery.merchant, Delivery.id, name="delivery_merchant_webhooks",
                                  where=(Delivery.channel == "webhook")))


class Webhook(BaseModel):
    """A merchant's one webhook URL (domain.webhooks). The signing secret is not stored: it is
    derived from SECRET_KEY and this row's nonce, so a copy of the database alone cannot sign
    events; rotating the secret is drawing a new nonce."""

    merchant = ForeignKeyField(Merchant, unique=True, backref="webhooks", on_delete="CASCADE")
    url = CharField()
    secret_nonce = CharField(default=new_token)
    created_at = DateTimeField(default=utcnow)
    rotated_at = DateTimeField(default=utcnow)


class ReminderStep(BaseModel):
    """One step of a merchant's automatic reminders (domain.reminders): at most three."""

    merchant = ForeignKeyField(Merchant, backref="reminder_steps", on_delete="CASCADE")
    kind = CharField(max_length=16)  # "before_expiry" | "after_issue"
    hours = IntegerField()
    channels = CharField(max_length=8)  # "email" | "sms" | "both"
    created_at = DateTimeField(default=utcnow)


class AutoReminder(BaseModel):
    """A step of an invoice, on one channel, due at a moment: written when the invoice is issued
    (or the steps change), claimed once by the reminder job. Pending while done_at is empty."""

    invoice = ForeignKeyField(Invoice, backref="auto_reminders", on_delete="CASCADE", index=False)
    step = ForeignKeyField(ReminderStep, backref="reminders", on_delete="CASCADE")
    channel = CharField(max_length=8)  # "email" | "sms"
    due_at = DateTimeField()
    done_at = DateTimeField(null=True)
    outcome = CharField(max_length=16, default="")  # sent | skipped | sms_limit

    class Meta:
        indexes = ((("invoice", "step", "channel"), True),)


class Payment(BaseModel):
    invoice = ForeignKeyField(Invoice, backref="payments", on_delete="CASCADE")
    gateway = CharField(max_length=32)
    provider_payment_id = CharField()  # ours, the provider's idempotency key / OrderId
    provider_ref = CharField(default="")  # the provider's id for it; empty until it answered
    # When the provider last left its start unanswered (a timeout, a 5xx): it may have acted, so
    # the next click sends the same key. Empty while a start is under way in another request.
    unanswered_at = DateTimeField(null=True)
    method = CharField(max_length=8, default="card")  # card | sbp
    # "" → refunding (claimed: the provider is being asked) → refunded; a refunding whose
    # provider never answered may be asked again, with the same idempotency key.
    refund_state = CharField(max_length=10, default="")
    refund_started_at = DateTimeField(null=True)
    amount_kop = BigIntegerField()
    currency = CharField(max_length=3, default="RUB")
    status = CharField(max_length=16, default="pending")  # pending|succeeded|failed
    attention = CharField(default="")  # why a person must look: refund, mismatch
    created_at = DateTimeField(default=utcnow)
    confirmed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("gateway", "provider_payment_id"), True), (("status", "created_at"), False),
                   (("refund_state", "invoice"), False))


class PaymentNotification(BaseModel):
    gateway = CharField(max_length=32)
    event_id = CharField()
    received_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("gateway", "event_id"), True),)


class Captcha(BaseModel):
    key = CharField(unique=True, default=new_token)
    answer_hash = CharField()
    expires_at = DateTimeField()


class RateCounter(BaseModel):
    key = CharField()
    window_start = DateTimeField()
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("key", "window_start"), True),)


class Statement(BaseModel):
    """One uploaded bank statement (1C «Клиент-банк»): what it covered and what came of its lines."""

    merchant = ForeignKeyField(Merchant, backref="statements", on_delete="CASCADE", index=False)
    uploaded_by = ForeignKeyField(User, null=True, backref="statements", on_delete="SET NULL")  # none: the CLI
    actor = CharField(default="")  # how events name who imported it
    file_name = CharField(default="")
    account = CharField(max_length=20, default="")
    date_from = DateField(null=True)
    date_to = DateField(null=True)
    opening_kop = BigIntegerField(null=True)
    closing_kop = BigIntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    paid_count = IntegerField(default=0)
    suggested_count = IntegerField(default=0)
    unmatched_count = IntegerField(default=0)
    ignored_count = IntegerField(default=0)
    known_count = IntegerField(default=0)  # lines an earlier statement already brought

    class Meta:
        indexes = ((("merchant", "created_at"), False),)

    @classmethod
    def of(cls, merchant):
        """The merchant's statements; every query for them starts here."""
        return cls.select().where(cls.merchant == merchant)


class StatementLine(BaseModel):
    """One payment of a statement and what became of it (domain.statements):

        paid (its invoice paid by transfer)    suggested ──confirm──▶ paid
                                                   ╰──reject──▶ unmatched ──«Сопоставить»──▶ paid
        ignored (outgoing, the bank's own, the operator's settlements)

    A payment is known by (merchant, date, number, amount, payer account): importing it
    again, in the same statement or an overlapping one, finds it and changes nothing.
    """

    statement = ForeignKeyField(Statement, backref="lines", on_delete="CASCADE", index=False)
    merchant = ForeignKeyField(Merchant, on_delete="CASCADE", index=False)
    line_no = IntegerField()  # where the document starts in the file
    date = DateField()
    number = CharField(max_length=32)
    amount_kop = BigIntegerField()
    payer_name = CharField(default="")
    payer_inn = CharField(max_length=12, default="")
    payer_account = CharField(max_length=20, default="")
    purpose = TextField(default="")
    found_number = BigIntegerField(null=True)  # the invoice number read from the purpose
    outcome = CharField(max_length=10)  # paid | suggested | unmatched | ignored
    reason = CharField(default="")
    invoice = ForeignKeyField(Invoice, null=True, backref="statement_lines", on_delete="SET NULL")
    decided_at = DateTimeField(null=True)
    decided_by = CharField(default="")

    class Meta:
        indexes = (
            (("merchant", "date", "number", "amount_kop", "payer_account"), True),
            (("statement", "outcome", "line_no"), False),
        )


class PhoneCode(BaseModel):
    phone = CharField(max_length=10, unique=True)
    code_hash = CharField()
    expires_at = DateTimeField()
    attempts = IntegerField(default=0)


class ApiKey(BaseModel):
    """A key the merchant's own systems call the API with: only its digest is kept, and the
    first characters (`prefix`) so the list can tell keys apart."""

    merchant = ForeignKeyField(Merchant, backref="api_keys", on_delete="CASCADE")
    name = CharField()
    prefix = CharField(max_length=16)
    key_hash = CharField(unique=True)
    created_at = DateTimeField(default=utcnow)
    created_by = CharField(default="")
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    @classmethod
    def of(cls, merchant):
        """The merchant's keys, newest first."""
        return cls.select().where(cls.merchant == merchant).order_by(cls.id.desc())


class IdempotentRequest(BaseModel):
    """A POST sent with an Idempotency-Key: claimed while it runs, then its answer, kept 24 h.

    The unique (merchant, key) lets exactly one of two requests arriving at once claim it."""

    merchant = ForeignKeyField(Merchant, on_delete="CASCADE", index=False)
    key = CharField(max_length=255)
    fingerprint = CharField(max_length=64)  # SHA-256 of the method, path and body
    created_at = DateTimeField(default=utcnow)
    status = IntegerField(null=True)  # None while the first request still runs
    body = TextField(default="")
    location = CharField(default="")

    class Meta:
        indexes = ((("merchant", "key"), True), (("created_at",), False))


MODELS = (
    Merchant, User, UserSession, Organisation, Service, Invoice, InvoiceEvent, Delivery, ReminderStep,
    AutoReminder, Payment, PaymentNotification, Captcha, RateCounter, Statement, StatementLine, PhoneCode,
    ApiKey, IdempotentRequest, Webhook,
)
