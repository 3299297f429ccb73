"""Sessions, CSRF and headers, proven by walking the app as an attacker would."""
import re

import pytest

from ckbiz import create_app
from ckbiz.extensions import db
from ckbiz.models import MODELS
from conftest import PHONE, csrf_token
from factories import make_invoice
from security_helpers import route_values

# Routes that change nothing and answer a bare GET (the rest need ids or are POST-only).
# The payment callbacks are signed; the API takes a key and never the session cookie.
EXEMPT_FROM_CSRF = {"payments.callback", "api.create_invoice", "api.remind", "api.cancel", "api.mark_paid"}


def table_counts(app):
    with app.app_context(), db.connection_context():
        return {m.__name__: m.select().count() for m in MODELS if m.__name__ not in ("Captcha", "RateCounter")}


def sample_path(rule, values):
    """A concrete URL for a rule, using the merchant's own objects."""
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(\w+:)?{name}>", str(values[name]), path)
    return path


@pytest.fixture
def world(app, client, auth, merchant):
    """The logged-in owner's invoice, and a value for every argument of the URL map."""
    auth.login()
    invoice = make_invoice(app, merchant)
    return invoice, route_values(app, merchant, invoice, PHONE)


def test_every_post_without_a_token_is_refused_and_changes_nothing(app, client, world):
    invoice, values = world
    before = table_counts(app)
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint not in EXEMPT_FROM_CSRF]
    assert len(posts) >= 15
    for rule in posts:
        path = sample_path(rule, values)
        for headers in ({}, {"HX-Request": "true", "HX-Target": f"invoice-{invoice.number}"}):
            response = client.post(path, data={"confirm": "1", "email": "a@example.com", "name": "x"},
                                   headers=headers)
            assert response.status_code == 400, (rule.rule, response.status_code)
    assert table_counts(app) == before


def test_a_token_from_another_session_is_refused(app, client, world):
    invoice, _ = world
    stranger = app.test_client()
    foreign = csrf_token(stranger, "/login")
    response = client.post(f"/invoices/{invoice.number}/cancel", data={"csrf_token": foreign, "confirm": "1"})
    assert response.status_code == 400
    response = client.post(f"/invoices/{invoice.number}/cancel", data={"confirm": "1"},
                           headers={"X-CSRFToken": foreign, "HX-Request": "true"})
    assert response.status_code == 400


def test_htmx_requests_carry_the_token_in_a_header(app, client, world):
    invoice, _ = world
    token = csrf_token(client, "/invoices")
    response = client.post(f"/invoices/{invoice.number}/remind", headers={
        "X-CSRFToken": token, "HX-Request": "true", "HX-Target": f"invoice-{invoice.number}"})
    assert response.status_code == 200


def test_no_get_changes_anything(app, client, world):
    invoice, values = world
    client.get(f"/i/{invoice.token}")  # the payer's first view is recorded once, by design
    before = table_counts(app)
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            client.get(sample_path(rule, values))
    assert table_counts(app) == before


def test_the_callback_and_the_api_are_the_only_csrf_exempt_surfaces(app):
    """The API is exempt because it never accepts the session cookie (tests/api)."""
    from ckbiz.extensions import csrf
    assert set(csrf._exempt_views) == {"ckbiz.web.payments.callback"}
    assert {blueprint.name for blueprint in csrf._exempt_blueprints} == {"api"}
    exempt_posts = {r.endpoint for r in app.url_map.iter_rules()
                    if "POST" in r.methods and r.endpoint.startswith("api.")}
    assert exempt_posts | {"payments.callback"} == EXEMPT_FROM_CSRF


def test_a_cookie_kept_from_before_logout_is_useless(app, client, auth, merchant):
    auth.login()
    stolen = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/invoices").status_code == 302


def test_cookies_are_httponly_samesite_and_secure_behind_https(tmp_path, monkeypatch):
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "BASE_URL": "https://pay.example",
                      "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", "PROXY_COUNT": 1})
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_security_headers_on_pages_and_fragments(client, world):
    invoice, _ = world
    for path, headers in (("/invoices", {}), ("/invoices", {"HX-Request": "true", "HX-Target": "history-results"}),
                          (f"/i/{invoice.token}", {})):
        response = client.get(path, headers=headers)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert client.get(f"/i/{invoice.token}").headers["Referrer-Policy"] == "no-referrer"
