"""Injection: markup, htmx attributes and CRLF typed by a merchant or a payer come out inert everywhere."""
import csv
import io
import os
import re

import pytest
from markupsafe import escape

from ckbiz.extensions import db
from ckbiz.models import Delivery, Invoice, Merchant, Service
from ckbiz.web.history import CSV_COLUMNS
from conftest import PHONE, csrf_token
from factories import make_invoice
from security_helpers import ORGANISATION, intruder, issue_data, route_values, table_counts  # noqa: F401 (a fixture)

HTML_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    'hx-get="/logout" hx-on:click="alert(1)"',
]
CRLF = "a\r\nBcc: evil@example.com"


def own_service(client, text, **overrides):
    """A service of the merchant's own where every free-text field says `text`; returns its id."""
    data = {"csrf_token": csrf_token(client, "/settings"), **ORGANISATION, "name": text, "bank_name": text,
            "recipient": text, "display_name": text, "title": text, "category": text,
            "fields-0-label": text, "fields-0-kind": "text", "fields-1-label": text + " 2",
            "fields-1-kind": "text", "key": "0", **overrides}
    response = client.post("/settings/services/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return newest(client.application, Service).id


def issue(client, service_id, text, **overrides):
    """Issue an invoice whose comment and requisites say `text`; returns it."""
    data = {"csrf_token": csrf_token(client, "/invoices/new"), "service": service_id,
            "payer_phone": "9026376577", "payer_email": "payer@example.com", "validity_hours": "24",
            "amount": "100", "comment": text, "req-field1": text, "req-field2": text, **overrides}
    response = client.post("/invoices", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return newest(client.application, Invoice)


def newest(app, model):
    with app.app_context(), db.connection_context():
        return model.select().order_by(model._meta.primary_key.desc()).first()


@pytest.fixture
def cabinet(app, logged_in, smtp):
    """A logged-in merchant allowed its own services; the merchant's name is set by test."""
    app.config["MERCHANT_SERVICES"] = "self"
    return logged_in


def every_page(client, invoice, service_id, payload):
    """Every page and fragment that shows what was typed, as (what, body)."""
    number = invoice.number
    fragment = {"HX-Request": "true"}
    yield "history", client.get("/invoices")
    yield "history fragment", client.get("/invoices", headers={**fragment, "HX-Target": "history-results"})
    yield "search echo", client.get("/invoices", query_string={"q": payload})
    yield "search fragment", client.get("/invoices", query_string={"q": payload},
                                        headers={**fragment, "HX-Target": "history-results"})
    yield "totals", client.get("/invoices/totals", query_string={"q": payload, "status": payload})
    yield "invoice page", client.get(f"/invoices/{number}")
    yield "invoice dialog", client.get(f"/invoices/{number}", headers={**fragment, "HX-Target": "dialog-slot"})
    yield "payer page", client.get(f"/i/{invoice.token}")
    yield "issue form", client.get(f"/invoices/new?service={service_id}")
    yield "requisite fields", client.get(f"/invoices/new/fields?service={service_id}",
                                         headers={**fragment, "HX-Target": "requisites"})
    preview = {"csrf_token": csrf_token(client, "/invoices/new"), "service": service_id,
               "payer_phone": "9026376577", "validity_hours": "24", "amount": "100", "comment": payload,
               "req-field1": payload, "req-field2": payload}
    yield "preview", client.post("/invoices/preview", data=preview)
    yield "preview dialog", client.post("/invoices/preview", data=preview,
                                        headers={**fragment, "HX-Target": "dialog-slot"})
    yield "form with errors", client.post("/invoices", data={**preview, "amount": payload},
                                          headers={**fragment, "X-CSRFToken": preview["csrf_token"]})
    yield "services", client.get("/settings/services")
    yield "service form", client.get(f"/settings/services/{service_id}")
    yield "rename dialog", client.get(f"/settings/services/{service_id}/rename",
                                      headers={**fragment, "HX-Target": "dialog-slot"})
    token = csrf_token(client, "/settings")
    yield "renamed row", client.post(f"/settings/services/{service_id}/rename", data={
        "csrf_token": token, "name": payload}, headers={**fragment, "HX-Target": "rename-dialog"})
    yield "cancel confirmation", client.post(f"/invoices/{number}/cancel", data={"csrf_token": token})


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_markup_typed_anywhere_is_escaped_in_every_page_and_fragment(app, cabinet, merchant, payload):
    with app.app_context(), db.connection_context():
        Merchant.update(name=payload).where(Merchant.id == merchant.id).execute()
    service_id = own_service(cabinet, payload)
    invoice = issue(cabinet, service_id, payload)
    escaped = str(escape(payload))
    shown = 0
    for what, response in every_page(cabinet, invoice, service_id, payload):
        body = response.get_data(as_text=True)
        assert response.status_code < 500, what
        assert payload not in body, what
        shown += escaped in body
    assert shown >= 15  # the text really was on (nearly) every page, escaped


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_both_parts_of_the_email_and_the_sms_keep_markup_inert(app, cabinet, merchant, smtp, payload):
    service_id = own_service(cabinet, payload)
    issue(cabinet, service_id, payload)
    [(_, recipients, message)] = smtp.messages
    assert recipients == ["payer@example.com"]
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert payload in text.get_content()  # plain text shows it as typed: a mail client runs nothing there
    assert payload not in html.get_content() and str(escape(payload)) in html.get_content()
    with open(os.path.join(app.config["INSTANCE_PATH"], "sms.log"), encoding="utf-8") as fh:
        sms = fh.read()
    assert "Вам выставлен счет" in sms
    assert not any(piece in sms for piece in ("<", ">", '"', "alert"))


def test_crlf_in_typed_text_adds_no_mail_header(app, cabinet, merchant, smtp):
    """The organisation's name goes into the subject; a line break there must not start a header."""
    service_id = own_service(cabinet, "ООО Ромашка", name=CRLF, title=CRLF, display_name="Цветы")
    invoice = issue(cabinet, service_id, CRLF)
    [(_, recipients, message)] = smtp.messages
    assert recipients == ["payer@example.com"]
    assert message["Bcc"] is None and message["Cc"] is None
    assert message.get_all("To") == ["payer@example.com"]
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert "Bcc: evil@example.com" in message["Subject"]  # kept as words of the subject, on one line
    with app.app_context(), db.connection_context():
        assert {d.state for d in Delivery.select().where(Delivery.invoice == invoice.number)} == {"sent"}


def test_crlf_in_the_payers_email_address_is_refused_at_the_form(app, cabinet, merchant, smtp):
    counts = table_counts(app)
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    evil = "payer@example.com\r\nBcc: evil@example.com"
    response = cabinet.post("/invoices", data=issue_data(cabinet, service.id, payer_email=evil))
    assert response.status_code == 422 and "Адрес эл. почты указан неверно" in response.get_data(as_text=True)
    assert table_counts(app) == counts
    assert smtp.messages == []


def test_crlf_in_the_send_to_and_settings_addresses_is_refused(app, cabinet, merchant, smtp):
    invoice_number = make_invoice(app, merchant, email=None).number
    counts = table_counts(app)
    token = csrf_token(cabinet, "/settings")
    evil = "friend@example.com\r\nBcc: evil@example.com"
    response = cabinet.post(f"/invoices/{invoice_number}/send", data={"csrf_token": token, "email": evil})
    assert response.status_code == 422
    response = cabinet.post("/settings", data={"csrf_token": token, "default_validity_hours": "72",
                                               "copy_invoices": "y", "copy_email": evil, "email": evil,
                                               "timezone": "Europe/Moscow"})
    assert response.status_code == 422
    assert table_counts(app) == counts
    assert smtp.messages == []


def csv_cells(client, **query):
    body = client.get("/invoices.csv", query_string=query).get_data(as_text=True)
    return [cell for row in csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";") for cell in row]


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0",
                                     "-2+3", "@SUM(1)"])
def test_csv_cells_never_start_a_formula(app, cabinet, merchant, formula):
    """Excel runs a cell starting with = + - @ as a formula: such cells get a leading apostrophe."""
    service_id = own_service(cabinet, "Цветы", display_name=formula, **{"fields-0-label": formula})
    issue(cabinet, service_id, formula)
    cells = csv_cells(cabinet)
    assert "'" + formula in cells  # the service name, shown but inert
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_csv_is_a_download_not_a_page(app, cabinet, merchant):
    response = cabinet.get("/invoices.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# Search: SQL metacharacters are text like any other.
KEYS = ["' OR 1=1 --", "%", "50%", "_x", "a_c", "abc", "\\", "a\\c", '"quoted"', "plain"]


def numbers_found(client, q):
    html = client.get("/invoices", query_string={"q": q},
                      headers={"HX-Request": "true", "HX-Target": "history-results"})
    assert html.status_code == 200, q
    return {int(n) for n in re.findall(r"/invoices/(\d+)", html.get_data(as_text=True))}


def test_search_with_sql_metacharacters_matches_literally_and_only_own_invoices(app, cabinet, merchant, intruder):
    service_id = own_service(cabinet, "Поиск")
    mine = {key: issue(cabinet, service_id, "x", **{"req-field1": key}).number for key in KEYS}
    # The intruder holds invoices with the very same key texts: none may show up in the merchant's search.
    theirs = own_service(intruder, "Чужое")
    for key in KEYS:
        issue(intruder, theirs, "x", **{"req-field1": key})
    for q, expected in {
        "' OR 1=1 --": {"' OR 1=1 --"},
        "%": {"%"},
        "_": {"_x"},
        "a_": {"a_c"},
        "\\": {"\\"},
        "a\\": {"a\\c"},
        '"': {'"quoted"'},
        "a": {"abc", "a_c", "a\\c"},
        "' OR '1'='1": set(),
        "%' --": set(),
    }.items():
        assert numbers_found(cabinet, q) == {mine[k] for k in expected}, q
        rows = csv_cells(cabinet, q=q)
        assert len(rows) == len(CSV_COLUMNS) * (1 + len(expected)), q  # the header, then one line per match


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_what_a_payer_types_on_the_card_form_comes_back_escaped(app, client, merchant, payload):
    invoice = make_invoice(app, merchant)
    payer = app.test_client()
    token = csrf_token(payer, f"/i/{invoice.token}")
    card_form = payer.post(f"/i/{invoice.token}/pay", data={"csrf_token": token}).headers["Location"]
    token = csrf_token(payer, card_form)
    response = payer.post(card_form, data={"csrf_token": token, "number": payload, "expiry": payload,
                                           "cvc": payload, "holder": payload})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert payload not in body and str(escape(payload)) in body


def test_a_nul_character_in_any_query_or_form_is_refused_by_every_route(app, cabinet, merchant):
    """PostgreSQL cannot hold NUL in a string: it was a 500 there for a search or a comment."""
    invoice = make_invoice(app, merchant)
    values = route_values(app, merchant, invoice, PHONE)
    token = csrf_token(cabinet, "/invoices")
    counts = table_counts(app)
    nul = "x\x00y"
    fields = {"q": nul, "comment": nul, "amount": nul, "name": nul, "email": nul, "phone": nul,
              "password": nul, "req-account": nul, "service": str(values["service_id"]), "confirm": "1"}
    tried = 0
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(\w+:)?{name}>", str(values[name]), path)
        for headers in ({}, {"HX-Request": "true", "X-CSRFToken": token}):
            if "GET" in rule.methods:
                response = cabinet.get(path, query_string={"q": nul, "service": values["service_id"]}, headers=headers)
                assert response.status_code == 400, (rule.rule, response.status_code)
                tried += 1
            if "POST" in rule.methods and rule.endpoint != "payments.callback":  # signed JSON, not a form
                response = cabinet.post(path, data={**fields, "csrf_token": token}, headers=headers)
                assert response.status_code == 400, (rule.rule, response.status_code)
                assert "недопустимый символ" in response.get_data(as_text=True)
                tried += 1
    assert tried >= 60
    assert table_counts(app) == counts


def test_a_forged_host_header_never_reaches_the_links_in_mail_and_sms(app, merchant, smtp):
    """Links are built from BASE_URL, not from the request: a poisoned Host cannot redirect payers."""
    poisoned = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    with app.test_request_context("/invoices", method="POST", headers=poisoned):
        make_invoice(app, merchant, email="payer@example.com")
    [(_, _, message)] = smtp.messages
    for part in (message.get_body(("plain",)), message.get_body(("html",))):
        assert "evil.example" not in part.get_content() and "http://ckbiz.test/i/" in part.get_content()
    with open(os.path.join(app.config["INSTANCE_PATH"], "sms.log"), encoding="utf-8") as fh:
        sms = fh.read()
    assert "evil.example" not in sms and "http://ckbiz.test/i/" in sms


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_payment_notices_keep_a_poisoned_payee_name_inert(app, cabinet, merchant, smtp, payload):
    """The payee's name goes into the notices' subject and text: escaped in HTML, one line in the subject."""
    from ckbiz.delivery import runner
    from ckbiz.domain import outbox

    service_id = own_service(cabinet, payload, name=payload + "\r\nBcc: evil@example.com")
    invoice = issue(cabinet, service_id, payload)
    smtp.messages.clear()
    with app.app_context(), db.connection_context():
        for kind in ("payment_received", "paid_notice", "refund_notice", "mismatch_notice"):
            row = outbox.add(merchant.id, invoice.id, "email", kind, "payer@example.com")
            assert runner.deliver(row.id).state == "sent"
    assert len(smtp.messages) == 4
    for _, recipients, message in smtp.messages:
        assert recipients == ["payer@example.com"] and message["Bcc"] is None
        assert "\n" not in message["Subject"]
        html = message.get_body(("html",)).get_content()
        assert payload not in html
    received = smtp.messages[0][2]
    assert str(escape(payload)) in received.get_body(("html",)).get_content()


@pytest.mark.parametrize("subject", [CRLF, "Invoice\r\nBcc: evil@example.com", "Invoice\nBcc: evil@example.com",
                                     "Invoice\rBcc: evil@example.com"])
def test_the_mail_builder_keeps_any_subject_on_one_header_line(app, subject):
    """Russian subjects get encoded anyway; an all-ASCII one must not start a header either."""
    import email
    from email import policy

    from ckbiz.delivery import mail as mailer

    with app.app_context():
        built = mailer.build(subject, "payer@example.com", "text", "<p>html</p>", "<x@ckbiz>").as_bytes()
    message = email.message_from_bytes(built, policy=policy.default)
    assert message["Bcc"] is None and message.get_all("To") == ["payer@example.com"]
    assert "Bcc: evil@example.com" in message["Subject"] and "\n" not in message["Subject"]


@pytest.mark.parametrize("recipient", ["payer@example.com\r\nBcc: evil@example.com",
                                       "payer@example.com\nBcc: evil@example.com"])
def test_the_mail_builder_refuses_a_line_break_in_the_recipient(app, recipient):
    from ckbiz.delivery import mail as mailer

    with app.app_context(), pytest.raises(mailer.MailError):
        mailer.build("Счет", recipient, "text", "<p>html</p>", "<x@ckbiz>")


@pytest.mark.parametrize("address", ['"<script>alert(1)</script>"@example.com',
                                     "<img src=x onerror=alert(1)>@example.com",
                                     '"><svg onload=alert(1)>@example.com', 'a@example.com" hx-get="/logout'])
def test_markup_in_an_email_address_is_refused_everywhere_one_is_typed(app, cabinet, merchant, smtp, address):
    invoice = make_invoice(app, merchant, email=None)
    smtp.messages.clear()
    counts = table_counts(app)
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    token = csrf_token(cabinet, "/settings")
    for path, data in (("/invoices", issue_data(cabinet, service.id, payer_email=address)),
                       (f"/invoices/{invoice.number}/send", {"csrf_token": token, "email": address}),
                       ("/settings", {"csrf_token": token, "default_validity_hours": "72", "copy_invoices": "y",
                                      "copy_email": address, "email": address, "timezone": "Europe/Moscow"})):
        response = cabinet.post(path, data=data)
        assert response.status_code == 422, path
        assert address not in response.get_data(as_text=True)
    assert table_counts(app) == counts and smtp.messages == []
