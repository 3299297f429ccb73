"""The merchant's own services (MERCHANT_SERVICES=self): add and edit with checked requisites."""
import pytest

from ckbiz.extensions import db
from ckbiz.models import Invoice, Service
from conftest import csrf_token
from factories import make_invoice, other_merchant

GOOD = {"name": "ООО Ромашка", "inn": "7707083893", "kpp": "773601001", "account": "40702810500000001234",
        "bik": "044525225", "bank_name": "ПАО Сбербанк", "corr_account": "30101810400000000225",
        "recipient": "", "display_name": "Цветы", "title": "букеты", "category": "Торговля",
        "percent": "2,5", "minimum": "10", "maximum": "",
        "fields-0-label": "НОМЕР ЗАКАЗА", "fields-0-kind": "digits", "fields-0-required": "y",
        "fields-1-label": "АДРЕС", "fields-1-kind": "text", "key": "0"}


@pytest.fixture
def cabinet(app, logged_in):
    """The logged-in merchant's client, where the operator lets merchants keep their own services."""
    app.config["MERCHANT_SERVICES"] = "self"
    return logged_in


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/settings"), **data})


def test_closed_unless_the_operator_allows_it(logged_in):
    assert logged_in.get("/settings/services/new").status_code == 404
    assert "Добавить услугу" not in logged_in.get("/settings/services").get_data(as_text=True)


def test_add_a_service_and_issue_with_it(app, cabinet, merchant):
    assert "Добавить услугу" in cabinet.get("/settings/services").get_data(as_text=True)
    response = post(cabinet, "/settings/services/new", **GOOD)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        service = Service.get(Service.display_name == "Цветы")
        assert service.organisation.recipient == "ООО Ромашка"
        assert (service.commission_bp, service.commission_min_kop, service.commission_max_kop) == (250, 1000, None)
        assert [(f["label"], f["kind"], f["required"], f["key"]) for f in service.fields] == [
            ("НОМЕР ЗАКАЗА", "digits", True, True), ("АДРЕС", "text", False, False)]
    assert "Цветы / ООО Ромашка / букеты / Торговля" in cabinet.get("/invoices/new").get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("inn", "7707083894", "ИНН"), ("bik", "12345", "БИК"), ("account", "40702810500000001235", "ключ"),
    ("corr_account", "30101810400000000226", "Корр"), ("kpp", "12", "КПП"), ("name", "", "Название"),
    ("percent", "150", "Процент"), ("key", "1", "Отметьте ключевой реквизит"),
])
def test_each_wrong_field_gets_its_message_and_nothing_is_saved(app, cabinet, merchant, field, value, message):
    data = {**GOOD, field: value}
    if field == "key":
        data["fields-1-label"] = ""
    response = post(cabinet, "/settings/services/new", **data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert not Service.select().where(Service.display_name == "Цветы").exists()


def test_several_checksum_errors_at_once(app, cabinet, merchant):
    html = post(cabinet, "/settings/services/new", **{**GOOD, "inn": "1", "bik": "2"}).get_data(as_text=True)
    assert html.count('class="error"') >= 2


def test_editing_changes_new_invoices_only(app, cabinet, merchant):
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    before = make_invoice(app, merchant)
    page = cabinet.get(f"/settings/services/{service.id}").get_data(as_text=True)
    assert 'value="Демо-организация"' in page and 'value="ЛИЦ. СЧЕТ"' in page
    data = {**GOOD, "display_name": "Демо ПА", "name": "Новая организация"}
    assert post(cabinet, f"/settings/services/{service.id}", **data).status_code == 303
    after = make_invoice(app, merchant)
    with app.app_context(), db.connection_context():
        assert Invoice.get_by_id(before.id).issued_with["payee"]["name"] == "Демо-организация"
        assert Invoice.get_by_id(after.id).issued_with["payee"]["name"] == "Новая организация"


def test_another_merchants_service_cannot_be_edited(app, client, auth, merchant):
    app.config["MERCHANT_SERVICES"] = "self"
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    other_merchant(app)
    auth.login(phone="9037778899", password="other password")
    assert client.get(f"/settings/services/{service.id}").status_code == 404
    assert post(client, f"/settings/services/{service.id}", **GOOD).status_code == 404


def test_the_vat_rate_is_saved_and_shown_again(app, cabinet, merchant):
    assert post(cabinet, "/settings/services/new", vat="20", **GOOD).status_code == 303
    with app.app_context(), db.connection_context():
        service = Service.get(Service.display_name == "Цветы")
        assert service.vat == "20"
    html = cabinet.get(f"/settings/services/{service.id}").get_data(as_text=True)
    assert '<option selected value="20">20 %</option>' in html


def test_an_unknown_vat_rate_is_refused(app, cabinet, merchant):
    response = post(cabinet, "/settings/services/new", vat="18", **GOOD)
    assert response.status_code == 422 and "Выберите значение из списка" in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert not Service.select().where(Service.display_name == "Цветы").exists()
