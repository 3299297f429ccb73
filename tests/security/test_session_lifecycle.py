"""Sessions from the attacker's side: fixation, stale tokens, other sessions, open redirects, HTTPS."""
import time
from urllib.parse import urlsplit

import pytest
from flask_login import current_user

from ckbiz import create_app
from ckbiz.extensions import db
from ckbiz.models import Delivery
from conftest import PASSWORD, AuthActions, csrf_token
from factories import make_invoice
from live import wait_for
from security_helpers import table_counts


def test_a_cookie_planted_before_login_is_worth_nothing_after_it(app, merchant):
    """Session fixation: the attacker hands the victim a cookie, the victim logs in with it."""
    attacker = app.test_client()
    attacker.get("/login")
    planted = attacker.get_cookie("session").value
    victim = app.test_client()
    victim.set_cookie("session", planted)
    assert AuthActions(victim).login().status_code == 303
    assert victim.get_cookie("session").value != planted
    assert victim.get("/invoices").status_code == 200
    assert attacker.get("/invoices").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", planted)
    assert replay.get("/invoices").status_code == 302


def test_a_session_left_alone_for_its_lifetime_is_sent_to_login(app, client, auth, merchant):
    """PERMANENT_SESSION_LIFETIME (12 h in production, two seconds here) ends a session that
    made no request for that long: its cookie is signed with the time, and too old a
    signature is no session at all."""
    lifetime = 2
    app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
    assert auth.login().status_code == 303
    last_request = time.time()
    assert client.get("/invoices").status_code == 200  # within the lifetime (and the cookie is signed anew)
    cookie = client.get_cookie("session").value

    def ended():
        # A copy of the cookie on a client of its own: the client under test makes no request
        # until the lifetime has passed, since every answer signs its cookie anew.
        probe = app.test_client()
        probe.set_cookie("session", cookie)
        return probe.get("/invoices").status_code == 302

    wait_for(ended, timeout=lifetime + 10, what="the session's lifetime to run out", interval=0.2)
    assert time.time() - last_request > lifetime  # not a moment before
    response = client.get("/invoices")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_a_csrf_token_from_before_login_is_refused_after_it(app, client, auth, merchant):
    invoice = make_invoice(app, merchant)
    stale = csrf_token(client, "/login")
    auth.login()
    counts = table_counts(app)
    for headers, data in (({}, {"csrf_token": stale}), ({"HX-Request": "true", "X-CSRFToken": stale}, {})):
        response = client.post(f"/invoices/{invoice.number}/remind", data=data, headers=headers)
        assert response.status_code == 400
    assert table_counts(app) == counts


def test_a_password_change_ends_the_other_sessions_htmx_included(app, client, auth, merchant):
    invoice = make_invoice(app, merchant)
    other = app.test_client()
    AuthActions(other).login()
    other_token = csrf_token(other, "/invoices")
    auth.login()
    token = csrf_token(client, "/password")
    assert client.post("/password", data={"csrf_token": token, "current": PASSWORD, "password": "a new password",
                                          "confirm": "a new password"}).status_code == 303
    with app.app_context(), db.connection_context():
        sent_before = Delivery.select().count()
    response = other.post(f"/invoices/{invoice.number}/remind", headers={
        "HX-Request": "true", "HX-Target": f"invoice-{invoice.number}", "X-CSRFToken": other_token})
    assert response.status_code in (302, 401)
    assert other.get("/invoices", headers={"HX-Request": "true", "HX-Target": "history-results"}).status_code == 302
    with app.app_context(), db.connection_context():
        assert Delivery.select().count() == sent_before
    assert client.get("/invoices").status_code == 200  # the session that changed it goes on


OFF_SITE = ["//evil.example", "https://evil.example", "http:evil.example", "https:/evil.example",
            "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
            "/\\evil.example", "\\/evil.example", "///evil.example", " //evil.example", "/\t/evil.example",
            "/\r\n/evil.example", "%2F%2Fevil.example", "/%0d%0aLocation:%20https://evil.example"]


def on_site(location):
    parts = urlsplit(location)
    return (location.startswith("/") and not location.startswith("//") and "\\" not in location
            and not parts.scheme and not parts.netloc and not any(ord(c) < 32 for c in location))


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_after_login_stays_on_the_site(app, client, merchant, target):
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"phone": "9161234567", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    assert on_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_after_an_invoice_action_stays_on_the_site(app, client, auth, merchant, target):
    invoice = make_invoice(app, merchant)
    auth.login()
    token = csrf_token(client, "/invoices")
    response = client.post(f"/invoices/{invoice.number}/remind", data={"csrf_token": token, "next": target})
    assert response.status_code == 303
    assert on_site(response.headers["Location"]), response.headers["Location"]


def app_behind(tmp_path, monkeypatch, base_url, proxies):
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(tmp_path))
    return create_app({"TESTING": True, "SECRET_KEY": "x", "BASE_URL": base_url, "PROXY_COUNT": proxies,
                       "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite"})


def test_hsts_whenever_the_site_is_https_even_if_proxy_count_was_forgotten(tmp_path, monkeypatch):
    app = app_behind(tmp_path, monkeypatch, "https://pay.example", 0)
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Secure" in response.headers["Set-Cookie"]


def test_forwarded_headers_are_ignored_unless_a_proxy_is_configured(tmp_path, monkeypatch):
    """Without PROXY_COUNT anyone could claim HTTPS or another address in a header."""
    app = app_behind(tmp_path, monkeypatch, "http://127.0.0.1:5000", 0)
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.headers["Set-Cookie"]


def test_a_forged_forwarded_for_does_not_escape_the_per_address_login_limit(app, merchant):
    app.config.update(LOGIN_ATTEMPTS_PER_ADDRESS_PER_HOUR=3, LOGIN_ATTEMPTS_PER_HOUR=100)
    for n in range(3):
        client = app.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.0.0.{n}"
        assert AuthActions(client).login(f"916000000{n}", "wrong password").status_code == 422
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.99"
    response = AuthActions(client).login()
    assert response.status_code == 422
    assert "Слишком много неудачных попыток входа" in response.get_data(as_text=True)


def test_the_cabinet_is_never_cached_but_static_files_are_left_alone(app, client, auth, merchant):
    invoice = make_invoice(app, merchant)
    auth.login()
    for path, headers in (("/invoices", {}), ("/invoices", {"HX-Request": "true", "HX-Target": "history-results"}),
                          (f"/invoices/{invoice.number}", {}), ("/invoices.csv", {}), ("/invoices/totals", {}),
                          ("/settings", {}), ("/password", {}), (f"/i/{invoice.token}", {})):
        assert client.get(path, headers=headers).headers["Cache-Control"] == "no-store", path
    assert client.get("/static/ckbiz.css").headers["Cache-Control"] != "no-store"


def test_the_request_that_changes_the_password_still_knows_its_merchant(app, client, auth, merchant):
    """login_user(current_user) made current_user a proxy of itself: any later look recursed forever."""
    seen = []

    @app.after_request
    def look(response):
        seen.append(current_user.is_authenticated)
        return response

    auth.login()
    token = csrf_token(client, "/password")
    assert client.post("/password", data={"csrf_token": token, "current": PASSWORD, "password": "a new password",
                                          "confirm": "a new password"}).status_code == 303
    assert seen[-1] is True
