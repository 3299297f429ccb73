"""What people paste: digits of other scripts, invisible characters, Cyrillic e-mail addresses.

One rule (ckbiz.domain.typed_text) for every form: digits of any script are read as the same
digits and stored as 0–9; invisible characters are removed before "required"; an address with
Cyrillic before the @ is refused at the form, a Cyrillic domain is taken (sent as IDNA).
"""
import pytest

from ckbiz.extensions import db
from ckbiz.models import Invoice, Merchant
from conftest import csrf_token
from security_helpers import table_counts
from test_issue import services, valid_form

FULLWIDTH_123 = "１２３"
ARABIC_2016 = "20١٦"
INVISIBLE = "\u200b\u200c\u200d\ufeff\u2060\u00ad\u200e"


def _issue(app, client, merchant, **overrides):
    service = services(app, merchant)[0]
    return client.post("/invoices", data=valid_form(client, service.id, **overrides))


def _last_invoice(app):
    with app.app_context(), db.connection_context():
        return Invoice.select().order_by(Invoice.id.desc()).get()


def test_fullwidth_amount_and_arabic_indic_month_are_stored_as_ascii_digits(app, logged_in, merchant):
    response = _issue(app, logged_in, merchant, amount=FULLWIDTH_123 + ",５０", **{"req-month": "04." + ARABIC_2016,
                                                                                  "req-account": "３４２３４２３４"})
    assert response.status_code == 303, response.get_data(as_text=True)
    invoice = _last_invoice(app)
    assert invoice.amount_kop == 12350
    values = {r["name"]: r["value"] for r in invoice.requisites}
    assert values["month"] == "04.2016" and values["account"] == "34234234"
    assert all(r["value"].isascii() for r in invoice.requisites if r["name"] != "fio")


@pytest.mark.parametrize("field", ["req-fio", "req-account"])
def test_a_required_value_of_only_invisible_characters_is_empty(app, logged_in, merchant, field):
    counts = table_counts(app)
    response = _issue(app, logged_in, merchant, **{field: INVISIBLE + " " + INVISIBLE})
    assert response.status_code == 422
    assert "Заполните поле" in response.get_data(as_text=True)
    assert table_counts(app) == counts


def test_invisible_characters_inside_a_value_are_removed(app, logged_in, merchant):
    response = _issue(app, logged_in, merchant, **{"req-fio": "\ufeffИванов\u200b Иван\u2060",
                                                   "req-account": "342\u200b34234"})
    assert response.status_code == 303, response.get_data(as_text=True)
    values = {r["name"]: r["value"] for r in _last_invoice(app).requisites}
    assert values["fio"] == "Иванов Иван" and values["account"] == "34234234"


def test_a_service_name_of_invisible_characters_is_refused(app, logged_in, merchant):
    service = services(app, merchant)[0]
    token = csrf_token(logged_in, "/settings")
    response = logged_in.post(f"/settings/services/{service.id}/rename",
                              data={"name": INVISIBLE, "csrf_token": token})
    assert response.status_code == 422
    assert "Название не может быть пустым" in response.get_data(as_text=True)


def test_a_cyrillic_mailbox_is_refused_at_the_form_with_a_reason(app, logged_in, merchant):
    counts = table_counts(app)
    response = _issue(app, logged_in, merchant, payer_email="пример@пример.рф")
    assert response.status_code == 422
    assert "Часть адреса до знака @ — латиницей" in response.get_data(as_text=True)
    assert table_counts(app) == counts


def test_a_cyrillic_domain_is_taken_and_mailed_in_idna(app, logged_in, merchant, smtp):
    response = _issue(app, logged_in, merchant, payer_email="shop@пример.рф")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert _last_invoice(app).payer_email == "shop@пример.рф"
    assert any("shop@xn--e1afmkfd.xn--p1ai" in rcpt_tos for _sender, rcpt_tos, _message in smtp.messages)


def test_the_notification_address_in_settings_follows_the_same_rule(app, logged_in, merchant):
    token = csrf_token(logged_in, "/settings")
    response = logged_in.post("/settings", data={"email": "почта@пример.рф", "validity_hours": "72",
                                                 "csrf_token": token})
    assert "Часть адреса до знака @ — латиницей" in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert Merchant.get_by_id(merchant.id).email == "shop@example.com"


def test_passwords_keep_every_character_they_were_typed_with(app, client, auth, merchant):
    """The invisible-character rule must not touch passwords: a password is what was typed."""
    assert auth.login(password="\u200b" + "correct horse battery").status_code != 303
    assert auth.login().status_code == 303
