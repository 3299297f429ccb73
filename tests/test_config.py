"""Configuration sources in order: defaults < instance/config.py < CKBIZ_* environment."""
import os
import stat
from decimal import Decimal

import pytest
from huey import RedisHuey, SqliteHuey

from ckbiz import create_app
from ckbiz.extensions import make_huey


def build(tmp_path, monkeypatch, **env):
    """An app on a fresh instance folder with the given environment."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(instance))
    for key, value in env.items():
        monkeypatch.setenv(f"CKBIZ_{key}", value)
    return create_app()


def test_defaults_serve_one_machine_inside_the_instance_folder(tmp_path, monkeypatch):
    app = build(tmp_path, monkeypatch)
    instance = str(tmp_path / "instance")
    assert app.instance_path == instance
    assert app.config["DATABASE_URL"] == "sqlite:///" + os.path.join(instance, "ckbiz.db")
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"
    assert app.config["DEFAULT_VALIDITY_HOURS"] == 72 and app.config["MAX_VALIDITY_HOURS"] == 2160
    assert app.config["MAX_AMOUNT"] == Decimal("1000000.00")
    assert app.config["REGISTRATION"] == "closed" and app.config["SMS_BACKEND"] == "console"
    assert app.config["PAYMENT_GATEWAY"] == "demo"


def test_secrets_are_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    first = build(tmp_path, monkeypatch)
    second = create_app()
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["PAYMENT_SECRET"] != first.config["SECRET_KEY"]
    mode = stat.S_IMODE(os.stat(tmp_path / "instance" / "secret_key").st_mode)
    assert mode == 0o600


def test_instance_config_overrides_defaults_and_environment_overrides_both(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        'BASE_URL = "https://pay.example"\nDEFAULT_VALIDITY_HOURS = 24\nSMS_SENDER = "SHOP"\n')
    app = build(tmp_path, monkeypatch, DEFAULT_VALIDITY_HOURS="48")
    assert app.config["BASE_URL"] == "https://pay.example"
    assert app.config["SMS_SENDER"] == "SHOP"
    assert app.config["DEFAULT_VALIDITY_HOURS"] == 48


def test_environment_values_are_typed_but_strings_stay_strings(tmp_path, monkeypatch):
    app = build(tmp_path, monkeypatch, MAIL_PORT="587", MAIL_USE_TLS="true",
                MAIL_PASSWORD="123456", SECRET_KEY="1e5", MAX_AMOUNT="2500.50")
    assert app.config["MAIL_PORT"] == 587 and app.config["MAIL_USE_TLS"] is True
    assert app.config["MAIL_PASSWORD"] == "123456"
    assert app.config["SECRET_KEY"] == "1e5"
    assert app.config["MAX_AMOUNT"] == Decimal("2500.50")


def test_payment_gateway_is_chosen_by_configuration_alone(tmp_path, monkeypatch):
    config = build(tmp_path, monkeypatch, PAYMENT_GATEWAY="tbank", TBANK_PASSWORD="0123", YOOKASSA_SHOP_ID="100500",
                   YOOKASSA_NOTIFY_IPS='["10.0.0.0/8"]', SBP="true").config
    assert (config["TBANK_PASSWORD"], config["YOOKASSA_SHOP_ID"]) == ("0123", "100500")  # digits stay strings
    assert config["YOOKASSA_NOTIFY_IPS"] == ["10.0.0.0/8"] and config["SBP"] is True
    with pytest.raises(ValueError, match=r"^PAYMENT_GATEWAY='stripe': one of demo, tbank, yookassa$"):
        build(tmp_path, monkeypatch, PAYMENT_GATEWAY="stripe")


def test_queue_is_sqlite_in_the_instance_folder_or_redis_by_url(tmp_path, monkeypatch):
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("CKBIZ_HUEY_URL", raising=False)
    queue = make_huey()
    assert isinstance(queue, SqliteHuey)
    assert (tmp_path / "inst" / "huey.db").exists()
    assert isinstance(make_huey("redis://127.0.0.1:6379/0"), RedisHuey)
