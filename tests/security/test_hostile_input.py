"""Hostile numbers, dates and amounts: a refusal (404, 422) or a plain answer, never a 500."""
import pytest

from ckbiz.extensions import db
from ckbiz.models import Service
from conftest import csrf_token
from security_helpers import ORGANISATION, table_counts

HUGE = "9" * 25  # past any 64-bit integer: SQLite cannot even bind it


@pytest.fixture
def cabinet(app, logged_in):
    """The logged-in merchant's client, where the operator lets merchants keep their own services."""
    app.config["MERCHANT_SERVICES"] = "self"
    return logged_in


def test_ids_past_64_bits_in_urls_are_not_found(app, cabinet):
    token = csrf_token(cabinet, "/settings")
    for path in (f"/invoices/{HUGE}", f"/invoices/{HUGE}/deliveries", f"/settings/services/{HUGE}",
                 f"/settings/services/{HUGE}/rename"):
        assert cabinet.get(path).status_code == 404, path
    for action in ("remind", "mark-paid", "cancel", "send", "repeat"):
        response = cabinet.post(f"/invoices/{HUGE}/{action}", data={"csrf_token": token, "confirm": "1"})
        assert response.status_code == 404, action
    for path in (f"/invoices/new/fields?service={HUGE}", f"/invoices/new/commission?service={HUGE}&amount=1",
                 f"/invoices/new/fields?service=-{HUGE}"):
        assert cabinet.get(path).status_code == 404, path


@pytest.mark.parametrize("query", [f"after={HUGE}", f"after=-{HUGE}", "after=0", f"q={HUGE}",
                                   "from=0001-01-01", "to=0001-01-01", "from=9999-12-31", "to=9999-12-31",
                                   "from=0001-01-01&to=9999-12-31"])
def test_history_totals_and_csv_take_extreme_cursors_and_dates(app, cabinet, query):
    for path in ("/invoices", "/invoices/totals", "/invoices.csv"):
        assert cabinet.get(f"{path}?{query}").status_code == 200, (path, query)


@pytest.mark.parametrize("field,value", [("minimum", "NaN"), ("minimum", "sNaN"), ("maximum", "Infinity"),
                                         ("minimum", "1E+30"), ("minimum", HUGE), ("maximum", "-0"),
                                         ("maximum", "1e-30"), ("minimum", "10,001")])
def test_commission_limits_are_plain_rubles_or_refused_with_a_message(app, cabinet, merchant, field, value):
    counts = table_counts(app)
    data = {**ORGANISATION, "name": "ООО Ромашка", "bank_name": "Банк", "recipient": "", "display_name": "Цветы",
            "title": "букеты", "category": "Торговля", "fields-0-label": "НОМЕР", "fields-0-kind": "digits",
            "key": "0", field: value, "csrf_token": csrf_token(cabinet, "/settings")}
    response = cabinet.post("/settings/services/new", data=data)
    assert response.status_code == 422
    assert "Суммы — числа рублей" in response.get_data(as_text=True)
    assert table_counts(app) == counts
    with app.app_context(), db.connection_context():
        assert not Service.select().where(Service.display_name == "Цветы").exists()
