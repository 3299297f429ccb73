"""SMS backends against a real local HTTP server that speaks SMS.ru and SMSC (tests/sms_gateway.py)."""
import logging
import re
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest

from ckbiz.delivery.sms import SmsError, backend_from_config
from ckbiz.delivery.sms.console import ConsoleBackend
from ckbiz.delivery.sms.smsc import SmscBackend
from ckbiz.delivery.sms.smsru import SmsRuBackend
from sms_gateway import API_KEY, NUMBER, PHONE, smsru_error, smsru_number_error, smsru_ok

PASSWORD = "s3cret-Pa55word"
TEXT = "Счёт №12 на 1 500,00 ₽ от ООО «Ромашка»\nОплатить: https://pay.example/i/AbC?x=1&y=2"


def smsru_config(provider, **extra):
    return {"SMS_BACKEND": "smsru", "SMS_API_KEY": API_KEY, "SMS_SENDER": "",
            "SMS_API_URL": provider.url, **extra}


def smsc_config(provider, **extra):
    return {"SMS_BACKEND": "smsc", "SMS_LOGIN": "merchant", "SMS_PASSWORD": PASSWORD,
            "SMS_SENDER": "", "SMS_API_URL": provider.url + "/", **extra}


def send_failing(backend, phone=PHONE):
    with pytest.raises(SmsError) as info:
        backend.send(phone, TEXT)
    return info.value


# --- SMS.ru -------------------------------------------------------------------

def test_smsru_request_shape_and_success(provider):
    provider.reply(smsru_ok())
    backend = backend_from_config(smsru_config(provider, SMS_SENDER="Romashka"))
    assert isinstance(backend, SmsRuBackend)
    assert backend.send(PHONE, TEXT) == "000000-10000000"
    [request] = provider.requests
    assert request["path"] == "/sms/send"
    assert request["content_type"].startswith("application/x-www-form-urlencoded")
    assert request["fields"] == {"api_id": API_KEY, "to": NUMBER, "msg": TEXT, "json": "1", "from": "Romashka"}
    assert request["repeated"] == []


def test_smsru_without_sender_sends_no_from(provider):
    provider.reply(smsru_ok("111-222"))
    assert SmsRuBackend(smsru_config(provider)).send(PHONE, "Привет") == "111-222"
    assert "from" not in provider.requests[0]["fields"]
    assert provider.requests[0]["fields"]["msg"] == "Привет"


@pytest.mark.parametrize("body, status, retryable", [
    (smsru_error(200, "Неправильный api_id"), 200, False),
    (smsru_error(203, "Нет текста сообщения"), 200, False),
    (smsru_error(201, "Не хватает средств на лицевом счету"), 200, True),
    (smsru_error(220, "Сервис временно недоступен"), 200, True),
    (smsru_number_error(202, "Неправильно указан номер"), 200, False),
    (smsru_number_error(207, "На этот номер нет маршрута"), 200, False),
    (smsru_number_error(208), 200, False),
    (smsru_number_error(209, "Номер в стоп-листе"), 200, False),
    (smsru_number_error(230, "Превышен лимит"), 200, True),
    (smsru_number_error(231), 200, True),
    (smsru_number_error(232), 200, True),
    (smsru_number_error(201), 200, True),
    (smsru_error(200, f"Неправильный api_id {API_KEY}"), 200, False),
    ({"status": "OK", "status_code": 100, "sms": {}}, 200, True),
    ({"status": "OK", "sms": {NUMBER: {"status": "OK", "status_code": 100}}}, 200, True),
    ({"status": "ERROR"}, 200, True),
    ("<html>Bad gateway</html>", 200, True),
    ("[1, 2]", 200, True),
    ("", 200, True),
    (smsru_error(220), 500, True),
    ("Internal Server Error", 500, True),
    ("<html>503</html>", 503, True),
    ({"status": "ERROR"}, 429, True),
    ("Not Found", 404, False),
])
def test_smsru_errors_are_classified(provider, caplog, body, status, retryable):
    provider.reply(body, status)
    with caplog.at_level(logging.DEBUG):
        error = send_failing(SmsRuBackend(smsru_config(provider)))
    assert error.retryable is retryable
    assert API_KEY not in str(error) and API_KEY not in repr(error.args)
    assert API_KEY not in caplog.text
    assert len(provider.requests) == 1


def test_smsru_hang_is_a_quick_retryable_error(provider):
    provider.hang()
    backend = SmsRuBackend(smsru_config(provider, SMS_TIMEOUT=0.5))
    started = time.monotonic()
    error = send_failing(backend)
    assert time.monotonic() - started < 3
    assert error.retryable is True
    assert API_KEY not in str(error)
    assert provider.requests[0]["fields"]["to"] == NUMBER


def test_smsru_unreachable_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = send_failing(SmsRuBackend({"SMS_API_KEY": API_KEY, "SMS_API_URL": f"http://127.0.0.1:{port}"}))
    assert error.retryable is True
    assert API_KEY not in str(error)


@pytest.mark.parametrize("phone", ["12345", "79255070602", "+79255070602", "4951234567", "925507060x", ""])
def test_bad_phone_is_refused_before_any_request(provider, phone):
    for backend in (SmsRuBackend(smsru_config(provider)), SmscBackend(smsc_config(provider))):
        assert send_failing(backend, phone).retryable is False
    assert provider.requests == []


# --- SMSC ---------------------------------------------------------------------

def test_smsc_request_shape_and_success(provider):
    provider.reply({"id": 123, "cnt": 1})
    backend = backend_from_config(smsc_config(provider, SMS_SENDER="Romashka"))
    assert isinstance(backend, SmscBackend)
    assert backend.send(PHONE, TEXT) == "123"
    [request] = provider.requests
    assert request["path"] == "/sys/send.php"
    assert request["content_type"].startswith("application/x-www-form-urlencoded")
    assert request["fields"] == {"login": "merchant", "psw": PASSWORD, "phones": NUMBER, "mes": TEXT,
                                 "fmt": "3", "charset": "utf-8", "sender": "Romashka"}
    assert request["repeated"] == []


def test_smsc_without_sender_sends_no_sender(provider):
    provider.reply({"id": 7, "cnt": 1})
    assert SmscBackend(smsc_config(provider)).send(PHONE, "Привет") == "7"
    assert "sender" not in provider.requests[0]["fields"]


@pytest.mark.parametrize("body, status, retryable", [
    ({"error": "parameters error", "error_code": 1}, 200, False),
    ({"error": "authorise error", "error_code": 2}, 200, False),
    ({"error": f"authorise error {PASSWORD}", "error_code": 2}, 200, False),
    ({"error": "no money", "error_code": 3}, 200, True),
    ({"error": "IP is blocked", "error_code": 4}, 200, True),
    ({"error": "message is denied", "error_code": 6}, 200, False),
    ({"error": "invalid number", "error_code": 7}, 200, False),
    ({"error": "cannot deliver", "error_code": 8}, 200, False),
    ({"error": "duplicate request, wait a minute", "error_code": 9, "id": 5}, 200, True),
    ({"error": "mystery"}, 200, True),
    ({"cnt": 1}, 200, True),
    ("ERROR = 2 (authorise error)", 200, True),
    ({"error": "no money", "error_code": 3}, 500, True),
    ("Bad Gateway", 502, True),
    ("Too Many Requests", 429, True),
    ("Forbidden", 403, False),
])
def test_smsc_errors_are_classified(provider, caplog, body, status, retryable):
    provider.reply(body, status)
    with caplog.at_level(logging.DEBUG):
        error = send_failing(SmscBackend(smsc_config(provider)))
    assert error.retryable is retryable
    assert PASSWORD not in str(error) and PASSWORD not in repr(error.args)
    assert PASSWORD not in caplog.text
    assert len(provider.requests) == 1


def test_smsc_hang_is_a_quick_retryable_error(provider):
    provider.hang()
    backend = SmscBackend(smsc_config(provider, SMS_TIMEOUT=0.5))
    started = time.monotonic()
    error = send_failing(backend)
    assert time.monotonic() - started < 3
    assert error.retryable is True
    assert PASSWORD not in str(error)


# --- console and factory ------------------------------------------------------

def test_console_logs_and_appends_one_line(tmp_path, caplog):
    backend = backend_from_config({"SMS_BACKEND": "console", "INSTANCE_PATH": str(tmp_path)})
    assert isinstance(backend, ConsoleBackend)
    with caplog.at_level(logging.INFO, logger="ckbiz.sms"):
        first = backend.send(PHONE, "Счёт №1\nОплатить:\r\nhttps://pay.example/1")
        second = backend.send("9026376577", "Второй")
    assert first and second and first != second
    lines = (tmp_path / "sms.log").read_text(encoding="utf-8").split("\n")
    assert lines[2] == "" and len(lines) == 3
    match = re.fullmatch(r"(\S+) \+79255070602 Счёт №1 Оплатить: https://pay\.example/1", lines[0])
    assert match, lines[0]
    stamp = datetime.fromisoformat(match.group(1))
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=1)
    assert lines[1].endswith(" +79026376577 Второй")
    records = [r for r in caplog.records if r.name == "ckbiz.sms" and r.levelno == logging.INFO]
    assert len(records) == 2 and "+79255070602" in records[0].getMessage()


def test_console_needs_instance_path():
    with pytest.raises(ValueError, match="INSTANCE_PATH"):
        backend_from_config({"SMS_BACKEND": "console"})


@pytest.mark.parametrize("name", ["twilio", "", None, "SMSRU"])
def test_unknown_backend_is_a_value_error(name):
    with pytest.raises(ValueError, match="Unknown SMS_BACKEND .*console, smsru, smsc"):
        backend_from_config({"SMS_BACKEND": name})


def test_timeout_defaults_to_ten_seconds():
    assert SmsRuBackend({"SMS_API_KEY": API_KEY}).timeout == 10
    assert SmscBackend({}).url == "https://smsc.ru/sys/send.php"
    assert SmsRuBackend({}).url == "https://sms.ru/sms/send"
