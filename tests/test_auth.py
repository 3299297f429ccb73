"""Accounts (§3): login by phone in any spelling, logout, registration, password change."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ckbiz.extensions import db
from ckbiz.models import Delivery, Merchant
from conftest import PASSWORD, PHONE, AuthActions, csrf_token, last_sms, register_phone
from factories import other_merchant, user_with_phone

NEW_PASSWORD = "brand new password"


@pytest.mark.parametrize("phone", ["9161234567", "+7 916 123-45-67", "89161234567",
                                   "8 (916) 123-45-67", "+79161234567"])
def test_login_accepts_every_spelling_of_the_phone(client, auth, merchant, phone):
    response = auth.login(phone=phone)
    assert response.status_code == 303
    assert client.get("/password").status_code == 200


def test_wrong_password_and_unknown_phone_answer_alike(client, auth, merchant):
    wrong = auth.login(password="not the password")
    unknown = auth.login(phone="9990000000")
    assert wrong.status_code == unknown.status_code == 422
    for response in (wrong, unknown):
        assert "Неверный телефон или пароль" in response.get_data(as_text=True)
    assert client.get("/password").status_code == 302


def test_malformed_phone_gets_a_russian_message(auth, merchant):
    response = auth.login(phone="12345")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "9XXXXXXXXX" in text and "Неверный телефон или пароль" not in text


def test_kazakh_and_landline_numbers_are_refused(auth, merchant):
    for phone in ("+7 701 123 45 67", "+7 495 123-45-67"):
        assert "российский мобильный" in auth.login(phone=phone).get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, merchant):
    response = client.post("/login", data={"phone": "9161234567", "password": PASSWORD})
    assert response.status_code == 400
    assert "Форма устарела" in response.get_data(as_text=True)
    assert client.get("/password").status_code == 302


def test_login_required_pages_redirect_to_login_and_back(client, auth, merchant):
    response = client.get("/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    back = auth.login(next_url="/password")
    assert back.headers["Location"] == "/password"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/x", "javascript:alert(1)",
                                    "/\\evil.example", "\\\\evil.example", "/%0d%0aSet-Cookie:x"])
def test_next_never_leaves_the_site(auth, merchant, target):
    response = auth.login(next_url=target)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/" or (location.startswith("/") and not location.startswith(("//", "/\\")))
    assert "evil" not in location


def test_logout_is_post_only_and_ends_the_session(client, auth, merchant):
    auth.login()
    assert client.get("/logout").status_code == 405
    response = auth.logout()
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/password").status_code == 302


def test_session_cookie_from_before_login_is_replaced(client, auth, merchant):
    client.get("/login")
    before = client.get_cookie("session").value
    auth.login()
    assert client.get_cookie("session").value != before


def test_disabled_merchant_cannot_log_in(app, auth, merchant):
    with app.app_context(), db.connection_context():
        Merchant.update(active=False).where(Merchant.id == merchant.id).execute()
    assert auth.login().status_code == 422


def test_registration_is_closed_by_default(client):
    assert client.get("/register").status_code == 404
    assert "Зарегистрироваться" not in client.get("/login").get_data(as_text=True)


def test_open_registration_confirms_the_phone_by_sms_first(app, client):
    app.config["REGISTRATION"] = "open"
    assert "Зарегистрироваться" in client.get("/login").get_data(as_text=True)
    assert register_phone(app, client, "8 916 555-44-33").status_code == 303
    code = last_sms(app).split("Код подтверждения ЦК Бизнес: ")[1][:6]
    with app.app_context(), db.connection_context():
        assert Merchant.select().count() == 0
    token = csrf_token(client, "/register")
    form = {"csrf_token": token, "name": "Цветы", "email": "", "password": "long enough pw",
            "confirm": "long enough pw"}
    wrong = client.post("/register", data={**form, "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and "Код неверный" in wrong.get_data(as_text=True)
    response = client.post("/register", data={**form, "code": code})
    assert response.status_code == 303
    with app.app_context(), db.connection_context():
        assert user_with_phone("9165554433").merchant.name == "Цветы"
    assert client.get("/password").status_code == 200


def test_registration_needs_a_solved_captcha(app, client):
    app.config["REGISTRATION"] = "open"
    token = csrf_token(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "step": "phone", "phone": "9165554433",
                                              "captcha": "00000"})
    assert response.status_code == 422 and "Код с картинки введен неверно" in response.get_data(as_text=True)


def test_registering_a_known_phone_reveals_nothing_and_changes_nothing(app, client, merchant):
    app.config["REGISTRATION"] = "open"
    assert register_phone(app, client, "9161234567").status_code == 303
    assert "уже зарегистрирован" in last_sms(app) and "Код" not in last_sms(app)
    token = csrf_token(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "code": "123456", "password": "long enough pw",
                                              "confirm": "long enough pw"})
    assert response.status_code == 422
    with app.app_context(), db.connection_context():
        assert Merchant.select().count() == 1


def test_a_code_is_spent_after_five_wrong_tries(app, client):
    app.config["REGISTRATION"] = "open"
    register_phone(app, client, "9165554433")
    code = last_sms(app).split(": ")[1][:6]
    token = csrf_token(client, "/register")
    form = {"csrf_token": token, "password": "long enough pw", "confirm": "long enough pw"}
    for _ in range(5):
        client.post("/register", data={**form, "code": "999999" if code != "999999" else "888888"})
    assert client.post("/register", data={**form, "code": code}).status_code == 422


def test_registration_refuses_a_short_password(app, client):
    app.config["REGISTRATION"] = "open"
    register_phone(app, client, "9165554433")
    token = csrf_token(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "code": "1", "password": "short",
                                              "confirm": "short"})
    assert response.status_code == 422
    assert "не короче 8" in response.get_data(as_text=True)


def test_password_change_needs_the_current_one_and_ends_other_sessions(app, auth, merchant):
    other = app.test_client()
    from conftest import AuthActions
    AuthActions(other).login()
    auth.login()
    client = auth._client
    token = csrf_token(client, "/password")
    wrong = client.post("/password", data={"current": "nope", "password": "brand new password",
                                           "confirm": "brand new password", "csrf_token": token})
    assert "Текущий пароль введён неверно" in wrong.get_data(as_text=True)
    ok = client.post("/password", data={"current": PASSWORD, "password": "brand new password",
                                        "confirm": "brand new password", "csrf_token": token})
    assert ok.status_code == 303
    assert "Пароль изменён" in client.get("/password").get_data(as_text=True)
    assert other.get("/password").status_code == 302
    assert auth.login(password=PASSWORD).status_code == 422
    assert auth.login(password="brand new password").status_code == 303


def moscow_minute():
    """The time now as the merchant's e-mails write it (the merchant's zone is Moscow by default)."""
    return datetime.now(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y %H:%M") + " (МСК)"


def change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    """The «Сменить пароль» form, as the logged-in merchant sends it."""
    token = csrf_token(client, "/password")
    return client.post("/password", data={"current": current, "password": new, "confirm": new,
                                          "csrf_token": token})


def notices_to(smtp, address):
    """The messages the real SMTP server received for this address."""
    return [message for _, recipients, message in smtp.messages if address in recipients]


def test_a_password_change_is_told_by_e_mail_when_and_without_any_password(logged_in, smtp):
    """If it was not the merchant who changed it, the notice is how the merchant finds out."""
    earliest = moscow_minute()
    assert change_password(logged_in).status_code == 303
    latest = moscow_minute()
    [notice] = notices_to(smtp, "shop@example.com")
    assert notice["Subject"] == "Пароль ЦК Бизнес изменен"
    text = notice.get_body(("plain",)).get_content()
    html = notice.get_body(("html",)).get_content()
    assert earliest in text or latest in text, text
    for part in (text, html, notice.as_string()):
        assert PASSWORD not in part and NEW_PASSWORD not in part


def test_reset_password_on_the_command_line_is_told_by_e_mail_too(merchant, runner, smtp):
    result = runner.invoke(args=["reset-password", "9161234567", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    [notice] = notices_to(smtp, "shop@example.com")
    assert notice["Subject"] == "Пароль ЦК Бизнес изменен"
    assert NEW_PASSWORD not in notice.as_string() and NEW_PASSWORD not in notice.get_body(("plain",)).get_content()


def test_a_merchant_without_an_e_mail_gets_no_password_notice(app, client, smtp):
    other_merchant(app)
    assert AuthActions(client).login("9037778899", "other password").status_code == 303
    assert change_password(client, current="other password").status_code == 303
    assert AuthActions(app.test_client()).login("9037778899", NEW_PASSWORD).status_code == 303
    with app.app_context(), db.connection_context():
        assert Delivery.select().where(Delivery.kind == "password_changed").count() == 0
    assert smtp.messages == []


def test_long_unicode_passwords_are_not_truncated(app, auth, merchant):
    from ckbiz.domain import accounts
    long = "пароль с пробелами и юникодом ✓ " * 3
    with app.app_context(), db.connection_context():
        accounts.set_password(user_with_phone(PHONE), long)
    assert auth.login(password=long[:-1]).status_code == 422
    assert auth.login(password=long).status_code == 303
