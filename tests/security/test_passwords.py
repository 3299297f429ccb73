"""Passwords: long, unicode and spaced ones work whole; login and recovery say nothing about who exists."""
import re

import pytest

from conftest import PASSWORD, AuthActions, csrf_token, last_sms, recover, register_phone

LONG_64 = "x" * 63 + "!"
LONG_200 = "длинный пароль " * 13 + "12345"  # 200 characters, 371 bytes in UTF-8
UNICODE = "пароль-кириллица 🔐🦄 ünïcödé"
SPACED = "  пароль с пробелами внутри и по краям  "
PASSWORDS = [LONG_64, LONG_200, UNICODE, SPACED]


def near_misses(password):
    """Passwords a truncating or trimming store would confuse with this one."""
    misses = {password[:-1], password.strip(), " ".join(password.split()), password + "x"}
    if len(password) > 80:
        misses.add(password[:79] + ("Z" if password[79] != "Z" else "Y") + password[80:])
    if len(password) > 72:
        misses.add(password[:72])
    misses.discard(password)
    return misses


def change_password(client, current, new):
    token = csrf_token(client, "/password")
    return client.post("/password", data={"csrf_token": token, "current": current, "password": new,
                                          "confirm": new})


@pytest.mark.parametrize("password", PASSWORDS, ids=["64 chars", "200 chars", "unicode", "spaces"])
def test_a_changed_password_works_whole_and_nothing_shorter_or_trimmed_does(app, client, auth, merchant,
                                                                            password):
    assert len(LONG_200) == 200
    auth.login()
    assert change_password(client, PASSWORD, password).status_code == 303
    auth.logout()
    for miss in near_misses(password):
        assert AuthActions(app.test_client()).login(password=miss).status_code == 422, repr(miss)
    assert auth.login(password=password).status_code == 303
    assert client.get("/invoices").status_code == 200


def test_a_password_differing_only_in_character_80_does_not_log_in(app, client, auth, merchant):
    password = "a" * 79 + "b" + "c" * 20
    auth.login()
    assert change_password(client, PASSWORD, password).status_code == 303
    auth.logout()
    assert auth.login(password="a" * 79 + "X" + "c" * 20).status_code == 422
    assert auth.login(password=password).status_code == 303


def test_registration_keeps_a_long_unicode_spaced_password_whole(app, client):
    app.config["REGISTRATION"] = "open"
    password = " 🔐 " + LONG_200[:150] + " ёЁ "
    assert register_phone(app, client, "9165554433").status_code == 303
    code = last_sms(app).split("Код подтверждения ЦК Бизнес: ")[1][:6]
    token = csrf_token(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "code": code, "name": "", "email": "",
                                              "password": password, "confirm": password})
    assert response.status_code == 303
    for miss in near_misses(password):
        assert AuthActions(app.test_client()).login("9165554433", miss).status_code == 422, repr(miss)
    assert AuthActions(app.test_client()).login("9165554433", password).status_code == 303


def test_a_password_longer_than_the_limit_is_refused_with_a_message(app, client, auth, merchant):
    auth.login()
    response = change_password(client, PASSWORD, "x" * 257)
    assert response.status_code == 422
    assert "Пароль должен быть не длиннее 256 символов" in response.get_data(as_text=True)


def masked(response, *phones):
    """Status, headers and body with what differs per request by design blanked out:
    the session cookie's value and expiry, CSRF tokens, the captcha image's cache-buster."""
    headers = []
    for name, value in response.headers.items():
        if name == "Set-Cookie":
            value = re.sub(r"^session=[^;]*", "session=…", value)
            value = re.sub(r"Expires=[^;]+", "Expires=…", value)
        headers.append((name, value))
    body = response.get_data(as_text=True)
    body = re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]+"', 'name="csrf_token" value="…"', body)
    body = re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": "…"', body)
    body = re.sub(r'captcha\.png\?[^"]*', "captcha.png?…", body)
    for phone in phones:
        body = body.replace(phone, "PHONE")
    return response.status_code, headers, body


def test_login_answers_alike_for_a_known_and_an_unknown_phone(app, merchant):
    known = AuthActions(app.test_client()).login("9161234567", "not the password")
    unknown = AuthActions(app.test_client()).login("9169999999", "not the password")
    assert known.status_code == 422
    assert masked(known, "9161234567") == masked(unknown, "9169999999")


def test_recovery_answers_alike_for_a_known_and_an_unknown_phone(app, merchant):
    known = recover(app, app.test_client(), "9161234567")
    unknown = recover(app, app.test_client(), "9169999999")
    assert known.status_code == 200
    assert masked(known, "9161234567") == masked(unknown, "9169999999")
    # …and a wrong captcha answers alike too.
    known = recover(app, app.test_client(), "9161234567", answer="00000")
    unknown = recover(app, app.test_client(), "9169999999", answer="00000")
    assert known.status_code == 422
    assert masked(known, "9161234567") == masked(unknown, "9169999999")


def test_an_unknown_phone_costs_the_same_password_check_as_a_known_one(app, merchant, monkeypatch):
    """No timing difference to tell registered phones: an unknown one is checked against a dummy hash."""
    from ckbiz.domain import accounts

    calls = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    AuthActions(app.test_client()).login("9161234567", "not the password")
    known = len(calls)
    AuthActions(app.test_client()).login("9169999999", "not the password")
    assert known == 2 and len(calls) - known == 2  # the password's and a temporary one's


def test_recovery_answers_alike_once_the_limit_is_reached_for_either_phone(app, merchant):
    answers = {}
    for phone in ("9161234567", "9169999999"):
        for _ in range(app.config["RECOVERY_PER_PHONE_PER_HOUR"] + 1):
            answers[phone] = recover(app, app.test_client(), phone)
    assert answers["9161234567"].status_code == 422
    assert "Слишком много попыток восстановления" in answers["9161234567"].get_data(as_text=True)
    assert masked(answers["9161234567"], "9161234567") == masked(answers["9169999999"], "9169999999")
