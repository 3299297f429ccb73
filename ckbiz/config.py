"""Configuration: defaults < instance/config.py < CKBIZ_* environment variables."""
import json
import os
import secrets
from datetime import timedelta
from decimal import Decimal

# Settings that must stay strings even when their value looks like JSON
# (a digits-only password would otherwise become an int).
STRING_KEYS = (
    "SECRET_KEY", "PAYMENT_SECRET", "DATABASE_URL", "HUEY_URL", "RATELIMIT_STORAGE_URL",
    "BASE_URL", "MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER",
    "SMS_BACKEND", "SMS_API_KEY", "SMS_LOGIN", "SMS_PASSWORD", "SMS_SENDER", "SMS_API_URL",
    "PAYMENT_GATEWAY", "DEFAULT_TIMEZONE", "REGISTRATION", "MERCHANT_SERVICES",
    "OPERATOR_NAME", "SUPPORT_EMAIL", "SUPPORT_PHONE", "OPERATOR_INN",
    "YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "YOOKASSA_API_URL",
    "TBANK_TERMINAL_KEY", "TBANK_PASSWORD", "TBANK_API_URL", "RECEIPT_AGENT", "OPERATOR_TAX_SYSTEM",
)
# ЮKassa's published notification senders (https://yookassa.ru/developers/using-api/webhooks).
YOOKASSA_NETWORKS = ["185.71.76.0/27", "185.71.77.0/27", "77.75.153.0/25", "77.75.156.11/32",
                     "77.75.156.35/32", "77.75.154.128/25", "2a02:5180::/32"]
GENERATED_SECRETS = ("SECRET_KEY", "PAYMENT_SECRET")


def defaults(instance_path):
    """Every default serves one machine with nothing else installed."""
    return {
        "DATABASE_URL": "sqlite:///" + os.path.join(instance_path, "ckbiz.db"),
        "DATABASE_TIMEOUT": 10,  # seconds a SQLite writer waits for the lock before a 503
        "HUEY_URL": "",
        "RATELIMIT_STORAGE_URL": "",
        "BASE_URL": "http://127.0.0.1:5000",
        "MAIL_SERVER": "",
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "ckbiz <noreply@localhost>",
        "MAIL_TIMEOUT": 10,
        "SMS_BACKEND": "console",
        "SMS_API_KEY": "",
        "SMS_LOGIN": "",
        "SMS_PASSWORD": "",
        "SMS_SENDER": "",
        "SMS_API_URL": "",
        "SMS_DAILY_LIMIT": 500,
        # Waits before the 2nd, 3rd, … attempt of a delivery that failed for a passing reason.
        "DELIVERY_BACKOFF_SECONDS": [30, 120, 600, 1800, 3600],
        # How long the sweeper leaves a new or leased delivery alone before assuming its
        # task was lost (a leased one also gets 3 × MAIL_TIMEOUT on top).
        "DELIVERY_LEASE_SECONDS": 60,
        "WEBHOOK_TIMEOUT": 5,  # seconds for each step of one webhook attempt
        "WEBHOOK_ALLOW_PRIVATE": False,  # true: webhooks may go to loopback and private addresses
        "PAYMENT_GATEWAY": "demo",
        "PAYMENT_TIMEOUT": 10,  # seconds for each provider call; no hidden retries
        # Where the pay form may lead (CSP form-action) besides our origin and the API URL's;
        # None: the configured provider's own payment page.
        "PAYMENT_FORM_ORIGINS": None,
        "RECONCILE_AFTER_MINUTES": 5,  # a payment pending this long is looked up at its provider
        "SBP": False,  # true: «Оплатить через СБП» where the provider offers it (ЮKassa)
        "RECEIPTS": False,  # true: 54-ФЗ receipt data with every card payment
        "RECEIPT_AGENT": "none",  # payment_agent: each receipt item names its supplier (the payee)
        "OPERATOR_TAX_SYSTEM": "osn",  # the operator's, on receipts as payment agent
        "YOOKASSA_SHOP_ID": "",
        "YOOKASSA_SECRET_KEY": "",
        "YOOKASSA_API_URL": "https://api.yookassa.ru/v3",
        "YOOKASSA_NOTIFY_IPS": YOOKASSA_NETWORKS,
        "TBANK_TERMINAL_KEY": "",
        "TBANK_PASSWORD": "",
        "TBANK_API_URL": "https://securepay.tinkoff.ru/v2",
        "SETTLEMENT_DELAY_MINUTES": 1440,
        "DEFAULT_VALIDITY_HOURS": 72,
        "MAX_VALIDITY_HOURS": 2160,
        "MAX_AMOUNT": Decimal("1000000.00"),
        "DEFAULT_TIMEZONE": "Europe/Moscow",
        "REGISTRATION": "closed",
        "MERCHANT_SERVICES": "operator",
        "PROXY_COUNT": 0,
        "OPERATOR_NAME": "ООО «Демо-оператор»",
        "SUPPORT_EMAIL": "support@ckbiz.example",
        "SUPPORT_PHONE": "+7 (000) 000-00-00",
        "OPERATOR_INN": "",  # its settlement transfers in a bank statement pay no single invoice
        "API_RATE_PER_MINUTE": 120,  # requests per API key
        # The largest request body: forms are a few kilobytes; the statement upload has its own
        # STATEMENT_MAX_BYTES, a payment notification PAYMENT_CALLBACK_MAX_BYTES.
        "MAX_CONTENT_LENGTH": 1_000_000,
        "PAYMENT_CALLBACK_MAX_BYTES": 65_536,
        "STATEMENT_MAX_BYTES": 5_000_000,  # the largest statement file; its upload passes MAX_CONTENT_LENGTH
        "INVOICE_SENDS_PER_HOUR": 5,  # the merchant's «Отправить», and «Напомнить», on one invoice
        "PAYMENT_STARTS_PER_MINUTE": 5,  # «Оплатить банковской картой» on one invoice
        "CAPTCHAS_PER_ADDRESS_PER_HOUR": 60,
        "LOGIN_ATTEMPTS_PER_HOUR": 10,  # failed logins per phone
        "LOGIN_ATTEMPTS_PER_ADDRESS_PER_HOUR": 100,
        "RECOVERY_PER_PHONE_PER_HOUR": 3,
        "RECOVERY_PER_ADDRESS_PER_HOUR": 10,
        # A page left open for hours must still submit: the token lives as long
        # as the session does.
        "WTF_CSRF_TIME_LIMIT": None,
        # A session ends after this long unused, or this long after login (domain.sessions);
        # the cookie lives as long as the longest session can.
        "SESSION_IDLE_MINUTES": 720,
        "SESSION_MAX_DAYS": 30,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
    }


def load(app, test_config=None):
    """Fill app.config from every source in order, then make the secrets exist."""
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CKBIZ", loads=_loads)
    for key in STRING_KEYS:
        raw = os.environ.get("CKBIZ_" + key)
        if raw is not None:
            app.config[key] = raw
    if test_config:
        app.config.update(test_config)
    app.config["INSTANCE_PATH"] = app.instance_path
    # Served over HTTPS, the session cookie must never travel over plain HTTP.
    if str(app.config["BASE_URL"]).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["MAX_AMOUNT"] = Decimal(str(app.config["MAX_AMOUNT"]))
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=int(app.config["SESSION_MAX_DAYS"]))
    for key in GENERATED_SECRETS:
        if not app.config.get(key):
            app.config[key] = _instance_secret(app.instance_path, key.lower())


def _loads(value):
    """JSON as Flask parses it, but numbers with a point stay exact Decimals."""
    return json.loads(value, parse_float=Decimal)


def _instance_secret(instance_path, name):
    """Read a secret from the instance folder, creating it (mode 0600) on first run.

    The web and the worker may start together: the secret is written to a
    private file first and then linked into place, so nobody reads half of it.
    """
    path = os.path.join(instance_path, name)
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path, encoding="ascii") as fh:
        return fh.read().strip()
