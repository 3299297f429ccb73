"""Roles: each role against every route of the URL map. What DESIGN.md ("Team") does not allow a
role answers 403 with the reason and changes nothing; what it allows is never refused."""
import re

import pytest

from ckbiz.domain.roles import PERMISSIONS
from ckbiz.extensions import db
from conftest import PHONE, AuthActions, csrf_token
from factories import make_invoice, team_member, user_with_phone
from security_helpers import route_values, rows_of, table_counts

ALL = {"owner", "accountant", "viewer"}
WORKERS = {"owner", "accountant"}
OWNER = {"owner"}
# Who may use each route, written out from DESIGN.md rather than read from the code's own table.
EXPECTED = {
    "issue.new": WORKERS, "issue.fields": WORKERS, "issue.commission": WORKERS, "issue.preview": WORKERS,
    "issue.create": WORKERS, "issue.positions": WORKERS,
    "invoice.show": ALL, "invoice.deliveries_table": ALL, "invoice_document.pdf": ALL,
    "invoice.remind": WORKERS, "invoice.mark_paid": WORKERS, "invoice.cancel": WORKERS, "invoice.send": WORKERS,
    "invoice.repeat": WORKERS, "invoice.auto_remind": WORKERS, "invoice.refund": OWNER,
    "history.index": ALL, "history.totals_view": ALL, "history.export": ALL,
    "dashboard.index": ALL,
    "settings.index": OWNER, "settings.services": OWNER, "settings.rename": OWNER, "settings.new_service": OWNER,
    "settings.edit_service": OWNER, "reminders.index": OWNER, "reminders.remove": OWNER,
    "team.index": OWNER, "team.role": OWNER, "team.remove": OWNER,
    "webhooks.index": OWNER, "webhooks.test": OWNER, "webhooks.retry": OWNER,
    "team.sessions_list": ALL, "team.end_session": ALL, "team.end_others": ALL,
    "api_keys.index": OWNER, "api_keys.revoke": OWNER,
    "auth.password": ALL,
    "statements.index": WORKERS, "statements.show": WORKERS, "statements.match": WORKERS,
}
# Open to strangers: logging in and its neighbours, the payer's side, the gateways' callbacks.
PUBLIC = {"static", "core.index", "core.healthz", "auth.login", "auth.logout", "auth.register", "auth.captcha_image",
          "auth.recover", "auth.invitation", "payer.show", "payer.pay", "payer.qr_png", "payer.invoice_pdf", "payer.demo_card",
          "payments.callback",
          # The API never looks at the session: its key is checked instead (tests/api), and its
          # description is public like any API reference.
          "api.services", "api.create_invoice", "api.list_invoices", "api.read_invoice", "api.remind", "api.cancel",
          "api.mark_paid", "api_docs.openapi", "api_docs.reference"}
BODY = {"confirm": "1", "email": "someone@example.com", "role": "viewer", "name": "Новое имя", "phone": "9165550303",
        "default_validity_hours": "5", "timezone": "Asia/Omsk", "current": "x", "password": "a new password",
        "payer_phone": "9026376577", "validity_hours": "24", "amount": "100", "req-account": "123",
        "req-fio": "Иванов"}


def test_every_route_is_public_or_has_its_roles_written_down(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == PUBLIC | set(EXPECTED)


@pytest.fixture
def cabinet(app, merchant):
    """Everything a route's arguments can name, and one other user with a session of their own."""
    app.config["MERCHANT_SERVICES"] = "self"
    invoice = make_invoice(app, merchant)
    colleague = team_member(app, merchant, "9165550202", "viewer", name="Петров Пётр")
    assert AuthActions(app.test_client()).login("9165550202", "member password").status_code == 303
    return route_values(app, merchant, invoice, colleague.phone)


def path_for(rule, values):
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(\w+:)?{name}>", str(values[name]), path)
    return path


def logged_in_as(app, merchant, role):
    """A client logged in as a user of the merchant with this role (the owner is the merchant's own)."""
    client = app.test_client()
    phone, password = (PHONE, "correct horse battery") if role == "owner" else (
        team_member(app, merchant, "9165550101", role, name="Сотрудник Тест").phone, "member password")
    assert AuthActions(client).login(phone, password).status_code == 303
    return client


@pytest.mark.parametrize("role", sorted(ALL))
def test_a_role_can_do_what_design_allows_and_nothing_more(app, merchant, cabinet, role):
    client = logged_in_as(app, merchant, role)
    token = csrf_token(client, "/settings/sessions")
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint in EXPECTED),
                   key=lambda r: r.endpoint in ("team.remove", "team.end_session", "api_keys.revoke"))  # the destructive ones last
    tried = {"allowed": 0, "refused": 0}
    for rule in rules:
        allowed = role in EXPECTED[rule.endpoint]
        path = path_for(rule, cabinet)
        for method in sorted(rule.methods & {"GET", "POST"}):
            for headers in ({}, {"HX-Request": "true", "HX-Target": "dialog-slot", "X-CSRFToken": token}):
                before = (table_counts(app), rows_of(app, merchant))
                body = {**BODY, "csrf_token": token} if not headers else BODY
                response = client.open(path, method=method, data=body if method == "POST" else None,
                                       headers=headers)
                # Also ends a streamed answer (the CSV) here; the PDF is not text.
                text = response.get_data().decode("utf-8", "replace")
                what = (role, method, path, headers.get("HX-Request"), response.status_code)
                assert response.status_code < 500, what
                if allowed:
                    assert response.status_code != 403, what
                    tried["allowed"] += 1
                    continue
                assert response.status_code == 403, what
                assert any(str(reason) in text for _, reason in PERMISSIONS.values()), what
                assert (table_counts(app), rows_of(app, merchant)) == before, what
                tried["refused"] += 1
    assert tried["allowed"] > 0
    assert tried["refused"] > 0 or role == "owner"


def test_a_nablyudatel_lands_on_the_history_and_sees_no_actions(app, merchant):
    make_invoice(app, merchant)
    client = logged_in_as(app, merchant, "viewer")
    assert client.get("/").headers["Location"] == "/invoices"
    page = client.get("/invoices").get_data(as_text=True)
    assert "Оплачен другим способом" not in page and "Напомнить" not in page and "Выставить счет" not in page
    dialog = client.get("/invoices/1").get_data(as_text=True)
    assert "Повторить инвойс" not in dialog and "Отправить счет на почту" not in dialog
    # «Настройки» opens the sessions, which every role may see.
    assert 'href="/settings/sessions"' in page


def test_a_bukhgalter_issues_but_does_not_see_the_settings(app, merchant):
    client = logged_in_as(app, merchant, "accountant")
    assert client.get("/").headers["Location"] == "/invoices/new"
    page = client.get("/invoices/new").get_data(as_text=True)
    assert 'href="/settings/sessions"' in page and 'href="/settings"' not in page
    refused = client.get("/settings")
    assert refused.status_code == 403 and "Настройки кабинета меняет только владелец." in refused.get_data(as_text=True)


def test_an_owner_changes_a_role_and_it_holds_from_the_next_request(app, merchant):
    owner, colleague = logged_in_as(app, merchant, "owner"), app.test_client()
    team_member(app, merchant, "9165550404", "accountant", name="Сидоров Сидор")
    assert AuthActions(colleague).login("9165550404", "member password").status_code == 303
    assert colleague.get("/invoices/new").status_code == 200
    with app.app_context(), db.connection_context():
        user_id = user_with_phone("9165550404").id
    token = csrf_token(owner, "/settings/team")
    assert owner.post(f"/settings/team/{user_id}/role", data={"csrf_token": token, "role": "viewer"}).status_code == 303
    assert colleague.get("/invoices/new").status_code == 403
    assert colleague.get("/invoices").status_code == 200
