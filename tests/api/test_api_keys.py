"""«Настройки» → «API»: «Создать ключ» shows the key once; the list tells keys apart by name and
prefix, with their last use; «Отозвать» stops a key at once. `api-key create` does it for scripts."""
import re

from api_helpers import Api, issue_body
from ckbiz.extensions import db
from ckbiz.models import ApiKey, InvoiceEvent
from conftest import PHONE, csrf_token

KEY = re.compile(r"ckbiz_[A-Za-z0-9_-]{40,}")


def create(client, name):
    return client.post("/settings/api", data={"csrf_token": csrf_token(client, "/settings/api"), "name": name})


def test_a_new_key_is_shown_once_and_works(app, logged_in, merchant):
    page = logged_in.get("/settings/api").get_data(as_text=True)
    assert "Создать ключ" in page and "Ключей пока нет." in page
    assert 'href="/settings/api" aria-current="page">API<' in page  # the «Настройки» sub-tab
    made = create(logged_in, "Интернет-магазин")
    html = made.get_data(as_text=True)
    assert made.status_code == 200 and "больше он нигде не будет показан" in html
    key = KEY.search(html).group(0)
    listed = logged_in.get("/settings/api").get_data(as_text=True)
    assert key not in listed and key[:12] + "…" in listed and "Интернет-магазин" in listed
    assert "не использовался" in listed and "Отозвать" in listed
    api = Api(app.test_client(), key)
    number = api.post("/api/v1/invoices", json=issue_body(app, merchant)).get_json()["number"]
    assert "не использовался" not in logged_in.get("/settings/api").get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert InvoiceEvent.get(InvoiceEvent.kind == "issued").actor == "API: Интернет-магазин"
    assert number == 1


def test_a_key_needs_a_name(app, logged_in):
    response = create(logged_in, "   ")
    assert response.status_code == 422
    assert "Укажите название ключа" in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert ApiKey.select().count() == 0


def test_revoke_asks_first_then_the_key_stops(app, logged_in, merchant):
    key = KEY.search(create(logged_in, "1С").get_data(as_text=True)).group(0)
    with app.app_context(), db.connection_context():
        key_id = ApiKey.get().id
    token = csrf_token(logged_in, "/settings/api")
    question = logged_in.post(f"/settings/api/{key_id}/revoke", data={"csrf_token": token})
    assert "Отозвать ключ «1С»?" in question.get_data(as_text=True)
    assert Api(app.test_client(), key).get("/api/v1/services").status_code == 200
    done = logged_in.post(f"/settings/api/{key_id}/revoke", data={"csrf_token": token, "confirm": "1"},
                          follow_redirects=True)
    assert "Ключ «1С» отозван" in done.get_data(as_text=True)
    assert Api(app.test_client(), key).get("/api/v1/services").status_code == 401
    # Once revoked, it is gone for good: revoking again finds nothing.
    again = logged_in.post(f"/settings/api/{key_id}/revoke", data={"csrf_token": token, "confirm": "1"})
    assert again.status_code == 404


def test_the_command_line_prints_a_working_key(app, runner, merchant):
    result = runner.invoke(args=["api-key", "create", "--merchant", PHONE, "--name", "Скрипт"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert KEY.fullmatch(key)
    assert Api(app.test_client(), key).get("/api/v1/services").status_code == 200
    with app.app_context(), db.connection_context():
        row = ApiKey.get()
        assert (row.name, row.created_by) == ("Скрипт", "оператор")


def test_the_command_line_refuses_an_unknown_phone(runner, merchant):
    result = runner.invoke(args=["api-key", "create", "--merchant", "9990001122"])
    assert result.exit_code != 0 and "no user with phone" in result.output
