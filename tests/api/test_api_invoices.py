"""The merchant API's endpoints with good and bad input: the same rules, events and deliveries as the
pages, answers in the shapes of DESIGN, refusals as RFC 9457 problems that change nothing."""
import pytest

from api_helpers import Api, api, api_key, events_of, invoices_of, issue_body  # noqa: F401
from ckbiz.extensions import db
from ckbiz.models import Delivery, Invoice, InvoiceEvent
from conftest import csrf_token
from factories import make_invoice, overdue

PROBLEM = "application/problem+json"


def written(app):
    """How many invoices, events and outbox rows exist."""
    with app.app_context(), db.connection_context():
        return Invoice.select().count(), InvoiceEvent.select().count(), Delivery.select().count()


def refused(response, status, field=None):
    """The answer is a problem with this status (and a message for this field); returns its errors."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    problem = response.get_json()
    assert problem["status"] == status and problem["title"]
    if field:
        assert problem["errors"][field] and all(problem["errors"][field]), problem
    return problem.get("errors") or {}


def test_services_lists_the_merchants_services_with_their_fields(api):
    response = api.get("/api/v1/services")
    assert response.status_code == 200
    services = response.get_json()["data"]
    assert [s["display_name"] for s in services][:1] == ["Демо ПА"]
    assert services[0]["organisation"] == "Демо-организация"
    assert {"name": "account", "label": "ЛИЦ. СЧЕТ", "kind": "digits", "required": True, "key": True} in \
        services[0]["fields"]


def test_an_invoice_issued_through_the_api_is_the_invoice_the_page_makes(app, api, merchant):
    response = api.post("/api/v1/invoices", json=issue_body(app, merchant, comment="За апрель"))
    assert response.status_code == 201, response.get_data(as_text=True)
    invoice = response.get_json()
    assert response.headers["Location"] == f"/api/v1/invoices/{invoice['number']}"
    assert invoice["status"] == "issued" and invoice["amount"] == "1500.00" and invoice["commission"] == "22.50"
    assert invoice["payer"] == {"phone": "+79026376577", "email": "payer@example.com"}
    assert invoice["requisites"]["account"] == "34234234" and invoice["comment"] == "За апрель"
    stored = invoices_of(app, merchant)[0]
    assert invoice["url"] == f"http://ckbiz.test/i/{stored.token}"
    assert invoice["issued_at"].endswith("Z") and invoice["paid_at"] is None
    # The event names the key; the payer gets the SMS and the e-mail, as from «Выставить».
    events = events_of(app, merchant, invoice["number"])
    assert events[0] == ("issued", "API: Магазин")
    assert {"email_sent", "sms_sent"} <= {kind for kind, _ in events}
    with app.app_context(), db.connection_context():
        assert sorted(d.channel for d in Delivery.select().where(Delivery.invoice == stored.id)) == ["email", "sms"]


def test_positions_make_the_amount(app, api, merchant):
    positions = [{"name": "Консультация", "quantity": "2", "unit": "ч", "price": "1000.00", "vat": "none"},
                 {"name": "Выезд", "quantity": "1.5", "unit": "ч", "price": "100", "vat": "20"}]
    response = api.post("/api/v1/invoices", json=issue_body(app, merchant, amount=None, positions=positions))
    assert response.status_code == 201, response.get_data(as_text=True)
    invoice = response.get_json()
    assert invoice["amount"] == "2150.00"
    assert invoice["positions"][1] == {"name": "Выезд", "quantity": "1.5", "unit": "ч", "price": "100.00", "vat": "20"}


@pytest.mark.parametrize("change, field", [
    ({"amount": 1500}, "amount"),  # money is never a JSON number
    ({"amount": 1500.5}, "amount"),
    ({"amount": "15,00,0"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "1000000.01"}, "amount"),
    ({"amount": None}, "amount"),
    ({"payer": {}}, "payer"),
    ({"payer": {"phone": "12345"}}, "payer.phone"),
    ({"payer": {"email": "not an address"}}, "payer.email"),
    ({"requisites": {"account": "12ab"}}, "requisites.account"),
    ({"requisites": {"account": 123}}, "requisites.account"),
    ({"comment": "x" * 1001}, "comment"),
    ({"validity_hours": 0}, "validity_hours"),
    ({"validity_hours": 2161}, "validity_hours"),
    ({"validity_hours": "many"}, "validity_hours"),
    ({"service_id": 999999}, "service_id"),
    ({"service_id": 2**70}, "service_id"),
    ({"surprise": 1}, "surprise"),
    ({"positions": [{"name": "", "quantity": "1", "unit": "шт.", "price": "1"}], "amount": None}, "positions.0.name"),
    ({"positions": [{"name": "Товар", "quantity": "1", "unit": "шт.", "price": 10}], "amount": None},
     "positions.0.price"),
    ({"positions": [{"name": "Товар", "quantity": "1", "unit": "шт.", "price": "10"}]}, "amount"),
    ({"payer_org": {"name": "ООО Ромашка", "inn": "1234567890"}}, "payer_org.inn"),
])
def test_bad_input_is_422_with_a_message_for_the_field_and_makes_nothing(app, api, merchant, change, field):
    before = written(app)
    refused(api.post("/api/v1/invoices", json=issue_body(app, merchant, **change)), 422, field)
    assert written(app) == before


def test_the_messages_are_the_pages_own(app, api, merchant, logged_in):
    """One rule, one message: the API and «Выставить счет» refuse alike."""
    errors = refused(api.post("/api/v1/invoices", json=issue_body(
        app, merchant, payer={}, requisites={"account": "12ab"}, validity_hours=0, amount="0")), 422)
    page = logged_in.post("/invoices", data={
        "csrf_token": csrf_token(logged_in, "/invoices/new"), "service": str(issue_body(app, merchant)["service_id"]),
        "payer_phone": "", "payer_email": "", "req-account": "12ab", "req-fio": "Иванов Иван",
        "validity_hours": "0", "amount": "0"}).get_data(as_text=True)
    for field in ("payer", "requisites.account", "validity_hours", "amount"):
        assert errors[field][0] in page, field


def test_a_body_that_is_not_json_is_400(app, api, merchant):
    refused(api.post("/api/v1/invoices", data="{not json", headers={"Content-Type": "application/json"}), 400)
    assert written(app)[0] == 0


def test_list_filters_pages_and_limits(app, api, merchant):
    for key in ("111", "222", "333"):
        make_invoice(app, merchant, key=key)
    make_invoice(app, merchant, key="444", status="paid")
    everything = api.get("/api/v1/invoices").get_json()
    assert [i["number"] for i in everything["data"]] == [4, 3, 2, 1] and everything["next"] is None
    paid = api.get("/api/v1/invoices?status=paid").get_json()["data"]
    assert [(i["number"], i["status"]) for i in paid] == [(4, "paid")]
    assert [i["number"] for i in api.get("/api/v1/invoices?q=222").get_json()["data"]] == [2]
    first = api.get("/api/v1/invoices?limit=2").get_json()
    assert [i["number"] for i in first["data"]] == [4, 3] and first["next"] == 3
    second = api.get(f"/api/v1/invoices?limit=2&after={first['next']}").get_json()
    assert [i["number"] for i in second["data"]] == [2, 1] and second["next"] is None


def test_the_list_gives_fifty_by_default(app, api, merchant):
    for _ in range(51):
        make_invoice(app, merchant)
    page = api.get("/api/v1/invoices").get_json()
    assert len(page["data"]) == 50 and page["next"] == 2


@pytest.mark.parametrize("query, field", [("limit=101", "limit"), ("limit=0", "limit"), ("limit=x", "limit"),
                                          ("status=lost", "status"), ("after=-1", "after"), ("sort=number", "sort")])
def test_bad_list_parameters_are_422(api, query, field):
    refused(api.get(f"/api/v1/invoices?{query}"), 422, field)


def test_read_one_invoice(app, api, merchant):
    invoice = make_invoice(app, merchant, key="777")
    response = api.get(f"/api/v1/invoices/{invoice.number}")
    assert response.status_code == 200 and response.get_json()["requisites"]["account"] == "777"
    refused(api.get("/api/v1/invoices/99"), 404)


def test_actions_move_the_invoice_as_the_page_does(app, api, merchant):
    first, second, third = (make_invoice(app, merchant) for _ in range(3))
    reminded = api.post(f"/api/v1/invoices/{first.number}/remind")
    assert reminded.status_code == 200 and reminded.get_json()["status"] == "issued"
    assert ("reminded", "API: Магазин") in events_of(app, merchant, first.number)
    cancelled = api.post(f"/api/v1/invoices/{second.number}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    paid = api.post(f"/api/v1/invoices/{third.number}/mark-paid")
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid" and paid.get_json()["paid_at"]
    assert events_of(app, merchant, third.number)[-1] == ("paid", "API: Магазин")


def test_an_action_the_status_forbids_is_409_with_the_pages_reason(app, api, merchant):
    invoice = make_invoice(app, merchant, status="cancelled")
    before = written(app)
    problem = api.post(f"/api/v1/invoices/{invoice.number}/cancel")
    refused(problem, 409)
    assert problem.get_json()["detail"] == "Отменить можно только выставленный счет: этот счет отменен."
    refused(api.post(f"/api/v1/invoices/{invoice.number}/remind"), 409)
    late = make_invoice(app, merchant)
    overdue(app, late)
    refused(api.post(f"/api/v1/invoices/{late.number}/remind"), 409)
    assert api.post(f"/api/v1/invoices/{late.number}/mark-paid").status_code == 200  # expired may be paid
    assert written(app)[0] == before[0] + 1


def test_openapi_and_the_reference_need_no_key(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/docs").status_code == 200


def test_nul_anywhere_in_the_body_is_400_and_makes_nothing(app, api, merchant):
    """PostgreSQL cannot hold NUL in a string: the API refuses it as the forms do."""
    for change in ({"comment": "x\x00y"}, {"requisites": {"account": "1\x00", "fio": "И"}},
                   {"payer": {"email": "a\x00@example.com"}}):
        response = api.post("/api/v1/invoices", json=issue_body(app, merchant, **change))
        assert response.status_code == 400 and "недопустимый символ" in response.get_json()["title"]
    assert invoices_of(app, merchant) == []


def test_a_path_or_method_the_api_lacks_is_a_problem_too(api, client):
    refused(api.get("/api/v1/payments"), 404)
    method = api.get("/api/v1/invoices/1/cancel")
    refused(method, 405)
    assert "POST" in method.headers["Allow"]
    # The cabinet keeps its own pages.
    assert client.get("/nowhere").content_type.startswith("text/html")
