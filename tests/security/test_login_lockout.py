"""A stranger's wrong passwords slow guessing on a phone without locking its owner out, say
nothing about whether the phone exists, and every login path does the same hashing work."""
import pytest

from ckbiz import demo
from ckbiz.domain import accounts
from ckbiz.extensions import db
from ckbiz.models import Merchant, User
from conftest import PASSWORD, PHONE, AuthActions, captcha, csrf_token, recover
from test_passwords import masked
from test_recovery import temporary_password

CAPTCHA_ASKED = "введите код с картинки"


def client_from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def stranger_guesses(app, phone=PHONE, times=None, address="203.0.113.7"):
    """Wrong passwords for the phone, from the stranger's address."""
    client = client_from(app, address)
    for _ in range(times or app.config["LOGIN_ATTEMPTS_PER_HOUR"]):
        assert AuthActions(client).login(phone, "not the password").status_code == 422
    return client


def login_with_captcha(app, client, phone=PHONE, password=PASSWORD, answer=None):
    token = csrf_token(client, "/login")
    real = captcha(app, client)
    return client.post("/login", data={"csrf_token": token, "phone": phone, "password": password,
                                       "captcha": answer if answer is not None else real})


def test_the_owner_gets_in_behind_the_captcha_after_a_strangers_guesses(app, merchant):
    stranger_guesses(app)
    owner = client_from(app, "198.51.100.2")
    asked = AuthActions(owner).login()
    assert asked.status_code == 422
    page = asked.get_data(as_text=True)
    assert CAPTCHA_ASKED in page and 'src="/captcha.png"' in page
    assert login_with_captcha(app, owner).status_code == 303


def test_the_captcha_stops_the_stranger_from_guessing_on(app, merchant):
    stranger = stranger_guesses(app)
    assert login_with_captcha(app, stranger, answer="00000").status_code == 422
    # The right password itself does not get in without a solved captcha: guessing has stopped.
    assert AuthActions(stranger).login().status_code == 422
    assert login_with_captcha(app, stranger, password="still not it").status_code == 422


def test_a_valid_temporary_password_gets_in_past_the_phone_limit(app, merchant):
    stranger_guesses(app)
    owner = client_from(app, "198.51.100.2")
    recover(app, owner)
    response = AuthActions(owner).login(password=temporary_password(app))
    assert response.status_code == 303 and response.headers["Location"] == "/password"


def test_the_address_limit_stays_hard(app, merchant):
    app.config.update(LOGIN_ATTEMPTS_PER_ADDRESS_PER_HOUR=12)
    stranger = stranger_guesses(app, phone="9160000001", times=12)
    refused = login_with_captcha(app, stranger)
    assert refused.status_code == 422
    assert "Слишком много неудачных попыток входа" in refused.get_data(as_text=True)
    assert AuthActions(client_from(app, "198.51.100.2")).login().status_code == 303


def test_the_captcha_is_asked_alike_for_a_known_and_an_unknown_phone(app, merchant):
    stranger_guesses(app, PHONE)
    stranger_guesses(app, "9169999999")
    known = AuthActions(client_from(app, "198.51.100.3")).login(PHONE, "not the password")
    unknown = AuthActions(client_from(app, "198.51.100.4")).login("9169999999", "not the password")
    assert known.status_code == 422 and CAPTCHA_ASKED in known.get_data(as_text=True)
    assert masked(known, PHONE) == masked(unknown, "9169999999")


def test_the_old_password_stops_working_once_the_temporary_one_is_used(app, client, auth, merchant):
    recover(app, client)
    assert auth.login(password=temporary_password(app)).status_code == 303
    auth.logout()
    assert auth.login().status_code == 422


@pytest.fixture
def hash_checks(monkeypatch):
    """How many password hashes each login checks (Werkzeug's check, counted)."""
    calls = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    return calls


def checks_of(app, hash_checks, phone, password):
    before = len(hash_checks)
    AuthActions(client_from(app, "192.0.2.1")).login(phone, password)
    return len(hash_checks) - before


def test_every_login_path_checks_two_hashes(app, client, merchant, hash_checks):
    with app.app_context(), db.connection_context():
        invited = User.create(merchant=merchant.id, phone="9165550001", name="Ещё не принял", role="accountant")
        other, _ = demo.ensure_merchant("9165550002", PASSWORD)
        Merchant.update(active=False).where(Merchant.id == other.id).execute()
    recover(app, client_from(app, "192.0.2.9"))  # the owner now has a pending temporary password
    temporary = temporary_password(app)
    paths = {
        "pending temporary, wrong": (PHONE, "not the password"),
        "unknown": ("9169999999", "not the password"),
        "invited": (invited.phone, "not the password"),
        "disabled, right password": ("9165550002", PASSWORD),
        "known, right password": (PHONE, PASSWORD),
    }
    counts = {name: checks_of(app, hash_checks, *args) for name, args in paths.items()}
    counts["pending temporary, right"] = checks_of(app, hash_checks, PHONE, temporary)
    assert counts == {name: 2 for name in counts}


def test_past_the_phone_limit_a_login_checks_two_hashes_too(app, merchant, hash_checks):
    stranger_guesses(app, PHONE)
    stranger_guesses(app, "9169999999")
    assert checks_of(app, hash_checks, PHONE, PASSWORD) == checks_of(app, hash_checks, "9169999999", PASSWORD) == 2
