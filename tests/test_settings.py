"""«Настройки» (§7): main data and its effect on the next invoice; renaming services."""
import pytest

from ckbiz.extensions import db
from ckbiz.models import Merchant, Service
from conftest import csrf_token, text
from factories import make_invoice, other_merchant


def save(client, **data):
    values = {"csrf_token": csrf_token(client, "/settings"), "default_validity_hours": "72",
              "copy_email": "", "email": "", "timezone": "Europe/Moscow"}
    values.update(data)
    return client.post("/settings", data=values)


def test_settings_page_has_the_manuals_sections(logged_in):
    html = logged_in.get("/settings").get_data(as_text=True)
    for text in ("Основные данные", "Услуги", "Дублировать счета на почту", "Срок действия счета по умолчанию",
                 "Часовой пояс", "Владивосток (МСК+7)", "Сменить пароль"):
        assert text in html


def test_default_validity_prefills_the_issue_form(app, logged_in):
    assert save(logged_in, default_validity_hours="12").status_code == 303
    assert 'value="12"' in logged_in.get("/invoices/new").get_data(as_text=True)


def test_copy_to_the_merchants_address_arrives(app, logged_in, merchant, smtp):
    assert save(logged_in, copy_invoices="y", copy_email="me@shop.example").status_code == 303
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    logged_in.post("/invoices", data={
        "csrf_token": csrf_token(logged_in, "/invoices/new"), "service": str(service.id),
        "payer_email": "payer@example.com", "req-account": "1", "req-fio": "Ф", "validity_hours": "5",
        "amount": "10"})
    copies = [m for _, r, m in smtp.messages if r == ["me@shop.example"]]
    assert len(copies) == 1 and "ВАМ ВЫСТАВЛЕН СЧЕТ" in copies[0].get_body(("plain",)).get_content()


@pytest.mark.parametrize("data,message", [
    ({"default_validity_hours": "0"}, "От 1 до 2160 часов"),
    ({"default_validity_hours": "99999"}, "От 1 до 2160 часов"),
    ({"copy_invoices": "y", "copy_email": ""}, "Укажите адрес, на который дублировать"),
    ({"email": "nope"}, "Адрес эл. почты указан неверно"),
    ({"timezone": "Mars/Olympus"}, "Выберите значение из списка"),
])
def test_bad_settings_are_refused_and_nothing_is_saved(app, logged_in, merchant, data, message):
    response = save(logged_in, **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        fresh = Merchant.get_by_id(merchant.id)
        assert fresh.default_validity_hours is None and fresh.copy_invoices is False


def test_time_zone_changes_displayed_dates(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    moscow = logged_in.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    save(logged_in, timezone="Asia/Vladivostok")
    vladivostok = logged_in.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "(МСК)" in moscow and "(МСК+7)" in vladivostok


def test_services_list_and_rename_everywhere(app, logged_in, merchant):
    html = logged_in.get("/settings/services").get_data(as_text=True)
    assert "Демо ПА" in html and "Демо-организация" in html and "ИНН: 7701000001" in html
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    dialog = logged_in.get(f"/settings/services/{service.id}/rename",
                           headers={"HX-Request": "true", "HX-Target": "dialog-slot"}).get_data(as_text=True)
    assert "<dialog" in dialog and 'value="Демо ПА"' in dialog and "Изменить" in dialog and "Отмена" in dialog
    invoice = make_invoice(app, merchant)
    token = csrf_token(logged_in, f"/settings/services/{service.id}/rename")
    response = logged_in.post(f"/settings/services/{service.id}/rename", data={"csrf_token": token, "name": "Квартплата"},
                              headers={"HX-Request": "true", "HX-Target": "rename-dialog"})
    assert response.status_code == 200 and 'hx-swap-oob="true"' in response.get_data(as_text=True)
    assert "Квартплата / Демо-организация / демо-услуга" in logged_in.get("/invoices/new").get_data(as_text=True)
    assert "Квартплата, ЛИЦ. СЧЕТ" in text(logged_in.get("/invoices").get_data(as_text=True))
    page = logged_in.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "демо-услуга" in page and "Демо-организация" in page


@pytest.mark.parametrize("name,message", [("", "не может быть пустым"), ("   ", "не может быть пустым"),
                                          ("я" * 200, "Не длиннее 199")])
def test_rename_refuses_empty_and_long_names(app, logged_in, merchant, name, message):
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    token = csrf_token(logged_in, f"/settings/services/{service.id}/rename")
    response = logged_in.post(f"/settings/services/{service.id}/rename", data={"csrf_token": token, "name": name})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert Service.get_by_id(service.id).display_name == "Демо ПА"


def test_another_merchants_service_cannot_be_renamed(app, client, auth, merchant):
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    other_merchant(app)
    auth.login(phone="9037778899", password="other password")
    assert client.get(f"/settings/services/{service.id}/rename").status_code == 404
    token = csrf_token(client, "/settings")
    assert client.post(f"/settings/services/{service.id}/rename",
                       data={"csrf_token": token, "name": "x"}).status_code == 404


def test_attach_pdf_is_saved_and_shown_checked(app, logged_in, merchant):
    assert "Прикладывать PDF к письму" in logged_in.get("/settings").get_data(as_text=True)
    assert save(logged_in, attach_pdf="y").status_code == 303
    with app.app_context(), db.connection_context():
        assert Merchant.get_by_id(merchant.id).attach_pdf is True
    assert 'checked id="attach_pdf"' in logged_in.get("/settings").get_data(as_text=True)
    assert save(logged_in).status_code == 303
    with app.app_context(), db.connection_context():
        assert Merchant.get_by_id(merchant.id).attach_pdf is False
