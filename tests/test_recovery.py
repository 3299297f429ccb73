"""«Вспомнить пароль» (§8) and the limits that keep it from being abused."""
import re
from datetime import timedelta

import pytest

from ckbiz.database import utcnow
from ckbiz.extensions import db
from ckbiz.models import Captcha, Delivery, User
from conftest import PASSWORD, captcha, csrf_token, recover, register_phone, sms_lines

SENT = "Если этот номер зарегистрирован, на него отправлено СМС"


def temporary_password(app):
    return re.search(r"пароль ЦК Бизнес: (\w+)", sms_lines(app)[-1]).group(1)


def test_login_page_links_to_recovery_and_the_page_has_a_captcha(client):
    assert 'href="/recover"' in client.get("/login").get_data(as_text=True)
    html = client.get("/recover").get_data(as_text=True)
    assert "Восстановление пароля" in html and 'src="/captcha.png"' in html and "Восстановить" in html
    image = client.get("/captcha.png")
    assert image.mimetype == "image/png" and image.get_data()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_answer_for_registered_and_unknown_phones(app, client, merchant):
    known = recover(app, client, "9161234567")
    unknown = recover(app, client, "9169999999")
    assert known.status_code == unknown.status_code == 200
    def mask(response):
        """Per-request tokens (the form's and the htmx header's CSRF token) differ by design."""
        html = re.sub(r'value="[^"]+"', "", response.get_data(as_text=True))
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    assert mask(known).replace("9161234567", "P") == mask(unknown).replace("9169999999", "P")
    assert SENT in known.get_data(as_text=True)
    assert len(sms_lines(app)) == 1 and "+79161234567" in sms_lines(app)[0]


def test_no_password_is_stored_in_clear_anywhere(app, client, merchant):
    recover(app, client)
    password = temporary_password(app)
    with app.app_context(), db.connection_context():
        for table in ("delivery", "merchant", "captcha"):
            for row in db.execute_sql(f"SELECT * FROM {table}").fetchall():
                assert password not in " ".join(map(str, row))


def test_temporary_password_is_single_use_and_leads_to_a_new_password(app, client, auth, merchant):
    recover(app, client)
    password = temporary_password(app)
    assert auth.login(password=PASSWORD).status_code == 303  # the old one still works
    auth.logout()
    response = auth.login(password=password)
    assert response.headers["Location"] == "/password"
    assert client.get("/invoices").headers["Location"].endswith("/password")
    page = client.get("/password").get_data(as_text=True)
    assert "временному паролю" in page and 'name="current"' not in page
    token = csrf_token(client, "/password")
    assert client.post("/password", data={"csrf_token": token, "password": "my own new password",
                                          "confirm": "my own new password"}).status_code == 303
    assert client.get("/invoices").status_code == 200
    auth.logout()
    assert auth.login(password=password).status_code == 422
    assert auth.login(password="my own new password").status_code == 303


def test_temporary_password_expires_after_15_minutes(app, client, auth, merchant):
    recover(app, client)
    password = temporary_password(app)
    with app.app_context(), db.connection_context():
        User.update(temp_password_expires_at=utcnow() - timedelta(seconds=1)).execute()
    assert auth.login(password=password).status_code == 422


@pytest.mark.parametrize("answer", ["00000", "", " "])
def test_wrong_or_missing_captcha_sends_nothing(app, client, merchant, answer):
    response = recover(app, client, answer=answer)
    assert response.status_code == 422 and SENT not in response.get_data(as_text=True)
    assert sms_lines(app) == []


def test_no_captcha_in_session_sends_nothing(app, client, merchant):
    token = csrf_token(client, "/recover")
    with client.session_transaction() as session:
        session.pop("captcha", None)
    response = client.post("/recover", data={"csrf_token": token, "phone": "9161234567", "captcha": "12345"})
    assert response.status_code == 422 and sms_lines(app) == []


def test_a_solved_captcha_cannot_be_replayed(app, client, merchant):
    token = csrf_token(client, "/recover")
    captcha(app, client, "55555")
    with client.session_transaction() as session:
        key = session["captcha"]
    assert client.post("/recover", data={"csrf_token": token, "phone": "9161234567", "captcha": "55555"}).status_code == 200
    with client.session_transaction() as session:
        session["captcha"] = key
    replay = client.post("/recover", data={"csrf_token": token, "phone": "9161234567", "captcha": "55555"})
    assert replay.status_code == 422 and len(sms_lines(app)) == 1


def test_the_answer_is_never_in_the_cookie_or_the_page(app, client):
    html = client.get("/recover").get_data(as_text=True)
    client.get("/captcha.png")
    cookie = client.get_cookie("session").value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert not any(re.fullmatch(r"\d{5}", str(value)) for value in session.values())
    with app.app_context(), db.connection_context():
        row = Captcha.get(Captcha.key == session["captcha"])
    assert len(row.answer_hash) == 64 and row.answer_hash not in html


def test_recovery_is_limited_per_phone_in_any_spelling(app, client, merchant):
    for spelling in ("9161234567", "+7 916 123-45-67", "8 (916) 123 45 67"):
        assert SENT in recover(app, client, spelling).get_data(as_text=True)
    limited = recover(app, client, "89161234567")
    assert limited.status_code == 422 and "Слишком много попыток" in limited.get_data(as_text=True)
    assert len(sms_lines(app)) == 3


def test_recovery_is_limited_per_address(app, client, merchant):
    for i in range(10):
        recover(app, client, f"916000{i:04d}")
    assert "Слишком много попыток" in recover(app, client, "9161234567").get_data(as_text=True)
    assert sms_lines(app) == []


def test_foreign_and_landline_numbers_get_no_sms(app, client, merchant):
    for phone in ("+7 701 123 45 67", "+7 495 123-45-67", "+1 202 555 0100"):
        assert recover(app, client, phone).status_code == 422
    assert sms_lines(app) == []


def test_a_stale_recovery_sms_is_not_sent(app, client, merchant):
    from ckbiz.delivery import runner
    from ckbiz.extensions import urgent_huey
    urgent_huey.immediate = False  # the password SMS goes to the urgent queue
    try:
        recover(app, client)
    finally:
        urgent_huey.immediate = True
    with app.app_context(), db.connection_context():
        Delivery.update(created_at=utcnow() - timedelta(minutes=16)).execute()
        assert runner.deliver(Delivery.get().id).state == "failed"
        assert User.get().temp_password_hash is None
    assert sms_lines(app) == []


def test_failed_logins_put_the_phone_behind_a_captcha_even_with_the_right_password(app, auth, merchant):
    for _ in range(10):
        assert auth.login(password="wrong password").status_code == 422
    blocked = auth.login(phone="+7 916 123-45-67")
    assert blocked.status_code == 422 and "введите код с картинки" in blocked.get_data(as_text=True)
    assert auth.login(phone="9037778899", password="whatever1").status_code == 422


def test_limits_can_live_in_redis(app, client, merchant):
    import redis
    app.config["RATELIMIT_STORAGE_URL"] = "redis://127.0.0.1:6379/14"
    redis.Redis.from_url("redis://127.0.0.1:6379/14").flushdb()
    for _ in range(3):
        assert SENT in recover(app, client).get_data(as_text=True)
    assert "Слишком много попыток" in recover(app, client).get_data(as_text=True)
    with app.app_context(), db.connection_context():
        from ckbiz.models import RateCounter
        assert RateCounter.select().count() == 0


def test_registration_codes_are_limited_per_phone(app, client):
    app.config["REGISTRATION"] = "open"
    for _ in range(3):
        assert register_phone(app, client, "9165554433").status_code == 303
    limited = register_phone(app, client, "+7 916 555 44 33")
    assert limited.status_code == 422 and "Слишком много попыток" in limited.get_data(as_text=True)
    assert len(sms_lines(app)) == 3
