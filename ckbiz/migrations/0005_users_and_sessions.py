"""A merchant becomes an organisation of users. Each merchant's login (phone, password, a pending
temporary password) becomes its owner, and the cookie sessions it had stay valid: their shared
token becomes one server-side session of that owner, which the owner can see and end."""
import hashlib
from datetime import UTC, datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, Model

from ckbiz.database import is_sqlite

LOGIN_COLUMNS = ("phone", "password_hash", "session_token", "temp_password_hash", "temp_password_expires_at",
                 "must_change_password")


def up(migrator, db):
    class Merchant(Model):
        class Meta:
            database = db
            table_name = "merchant"

    class Users(Model):
        merchant = ForeignKeyField(Merchant, on_delete="CASCADE")
        phone = CharField(max_length=10, unique=True)
        name = CharField(default="")
        role = CharField(max_length=16, default="owner")
        password_hash = CharField(null=True)
        temp_password_hash = CharField(null=True)
        temp_password_expires_at = DateTimeField(null=True)
        must_change_password = BooleanField(default=False)
        invite_hash = CharField(null=True)
        invite_expires_at = DateTimeField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "users"

    class UserSession(Model):
        user = ForeignKeyField(Users, on_delete="CASCADE")
        token_hash = CharField(unique=True)
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        address = CharField(default="")
        user_agent = CharField(default="")

        class Meta:
            database = db
            table_name = "user_session"

    db.create_tables([Users, UserSession])
    sql = db.execute_sql
    sql("INSERT INTO users (merchant_id, phone, name, role, password_hash, temp_password_hash, "
        "temp_password_expires_at, must_change_password, created_at) "
        "SELECT id, phone, name, 'owner', password_hash, temp_password_hash, temp_password_expires_at, "
        "must_change_password, created_at FROM merchant")
    now = datetime.now(UTC).replace(tzinfo=None)
    mark = "?" if is_sqlite(db) else "%s"
    for user_id, token in sql("SELECT u.id, m.session_token FROM users u JOIN merchant m ON m.id = u.merchant_id"
                              ).fetchall():
        sql(f"INSERT INTO user_session (user_id, token_hash, created_at, last_seen_at, address, user_agent) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, '', '')",
            (user_id, hashlib.sha256(token.encode()).hexdigest(), now, now))

    sql("ALTER TABLE delivery ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE SET NULL")
    sql("CREATE INDEX delivery_user_id ON delivery (user_id)")
    # A temporary password still waiting in the outbox goes to the owner it was asked for.
    sql("UPDATE delivery SET user_id = (SELECT u.id FROM users u WHERE u.phone = delivery.recipient) "
        "WHERE kind = 'password'")
    sql("ALTER TABLE invoice ADD COLUMN issued_by VARCHAR(255) NOT NULL DEFAULT ''")
    sql("ALTER TABLE invoice ADD COLUMN status_changed_by VARCHAR(255) NOT NULL DEFAULT ''")
    sql("ALTER TABLE invoice_event ADD COLUMN actor VARCHAR(255) NOT NULL DEFAULT ''")

    sql("DROP INDEX merchant_phone")
    sql("DROP INDEX merchant_session_token")
    for column in LOGIN_COLUMNS:
        sql(f"ALTER TABLE merchant DROP COLUMN {column}")
