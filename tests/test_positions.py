"""Line items and the payer organisation (issue 15): the sums, the form's rows, what an invoice keeps."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ckbiz.domain import positions, requisites
from ckbiz.extensions import db
from ckbiz.models import Invoice
from conftest import csrf_token
from factories import make_invoice
from test_issue import rows_written, services, valid_form

MAXIMUM = Decimal("1000000.00")


def row(name="Консультация", quantity="1", unit="ч", price="1500", vat="none"):
    return {"name": name, "quantity": quantity, "unit": unit, "price": price, "vat": vat}


def form_rows(*rows):
    """The rows as the form posts them: pos-<i>-<field>."""
    return {f"pos-{i}-{k}": v for i, r in enumerate(rows) for k, v in r.items()}


def test_a_line_is_quantity_times_price_rounded_half_up_to_the_kopeck():
    assert positions.line_amount(Decimal("1.5"), 1000) == 1500
    assert positions.line_amount(Decimal("0.333"), 100) == 33          # 33.3 kopecks
    assert positions.line_amount(Decimal("0.125"), 100) == 13          # 12.5 → 13, half-up
    assert positions.line_amount(Decimal("2.005"), 101) == 203         # 202.505 → 203


def test_vat_is_included_in_the_price_and_rounded_per_line():
    assert positions.vat_of(12000, "20") == 2000
    assert positions.vat_of(11000, "10") == 1000
    assert positions.vat_of(12200, "22") == 2200
    assert positions.vat_of(10000, "none") == 0
    assert positions.vat_of(10000, "0") == 0


def test_clean_positions_sums_the_lines_and_skips_blank_rows():
    cleaned = positions.clean_positions(
        [row(quantity="1,5", price="1 000,00", vat="20"), row(name="", quantity="1", price=""),
         row(name="Выезд", quantity="2", unit="усл.", price="250.50")], MAXIMUM)
    assert cleaned == [
        {"name": "Консультация", "quantity": "1.5", "unit": "ч", "price_kop": 100000, "vat": "20",
         "amount_kop": 150000},
        {"name": "Выезд", "quantity": "2", "unit": "усл.", "price_kop": 25050, "vat": "none", "amount_kop": 50100},
    ]
    assert positions.total(cleaned) == 200100


@pytest.mark.parametrize("field, value, message", [
    ("quantity", "1,2345", "не больше трех знаков"),
    ("quantity", "0", "больше нуля"),
    ("quantity", "-1", "не больше трех знаков"),
    ("quantity", "1e3", "не больше трех знаков"),
    ("price", "-5", "Сумма — число рублей"),
    ("price", "0", "Цена должна быть больше нуля"),
    ("price", "10.001", "Сумма — число рублей"),
    ("unit", "бочка", "единицу из списка"),
    ("vat", "18", "ставку НДС из списка"),
    ("name", "", "Укажите наименование"),
    ("name", "x" * 201, "Не больше 200"),
])
def test_a_bad_row_is_refused_with_a_message_on_its_field(field, value, message):
    bad = row(**{field: value})
    with pytest.raises(positions.PositionErrors) as caught:
        positions.clean_positions([row(), bad], MAXIMUM)
    assert list(caught.value.rows) == [1]
    assert message in str(caught.value.rows[1][field])


def test_the_sum_of_positions_is_held_to_the_maximum_amount():
    with pytest.raises(positions.PositionErrors) as caught:
        positions.clean_positions([row(quantity="1000", price="1000,01")], MAXIMUM)
    assert "не может быть больше" in caught.value.total


def test_an_invoice_without_positions_has_one_line_with_its_service_title(app, merchant):
    invoice = make_invoice(app, merchant, amount_kop=150000)
    [line] = positions.lines_of(invoice)
    assert (line.name, line.quantity, line.amount_kop, line.vat) == ("демо-услуга", Decimal(1), 150000, "none")
    assert positions.vat_total(invoice) is None


def test_payer_organisation_is_checked_like_the_payees():
    assert requisites.clean_payer_organisation({"name": " ", "inn": "", "kpp": ""}) is None
    assert requisites.clean_payer_organisation({"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001"}) \
        == {"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001"}
    assert requisites.clean_payer_organisation({"name": "ИП Петров", "inn": "500100732259", "kpp": ""})["inn"] \
        == "500100732259"
    with pytest.raises(requisites.OrganisationErrors) as caught:
        requisites.clean_payer_organisation({"name": "", "inn": "7707083894", "kpp": "12"})
    assert set(caught.value.errors) == {"name", "inn", "kpp"}
    assert "контрольная сумма" in str(caught.value.errors["inn"])
    with pytest.raises(requisites.OrganisationErrors) as caught:
        requisites.clean_payer_organisation({"name": "ИП Петров", "inn": "500100732259", "kpp": "773601001"})
    assert "у ИП нет КПП" in str(caught.value.errors["kpp"])


@pytest.mark.db
def test_issuing_with_positions_makes_the_amount_their_sum(app, logged_in, merchant):
    service = services(app, merchant)[0]
    data = valid_form(logged_in, service.id, amount="",
                      **form_rows(row(quantity="1,5", price="1000", vat="20"), row(name="Выезд", price="0,99")),
                      payer_org_name="ООО «Ромашка»", payer_org_inn="7707083893", payer_org_kpp="773601001")
    response = logged_in.post("/invoices", data=data)
    assert response.status_code == 303
    with app.app_context(), db.connection_context():
        invoice = Invoice.of(merchant).get()
        assert invoice.amount_kop == 150099
        assert [p["amount_kop"] for p in invoice.positions] == [150000, 99]
        assert invoice.payer_org == {"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001"}
        assert positions.vat_total(invoice) == 25000
    html = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    for text in ("Консультация", "1,5", "Выезд", "1\u00a0500,99\u00a0₽", "В том числе НДС", "250,00\u00a0₽",
                 "ООО «Ромашка»", "7707083893"):
        assert text in html, text


@pytest.mark.db
def test_a_bad_row_or_payer_inn_shows_messages_and_issues_nothing(app, logged_in, merchant):
    service = services(app, merchant)[0]
    before = rows_written(app)
    data = valid_form(logged_in, service.id, **form_rows(row(quantity="1,2345")), payer_org_name="ООО",
                      payer_org_inn="7707083894")
    response = logged_in.post("/invoices", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Проверьте поля, отмеченные красным." in html
    assert "не больше трех знаков после запятой" in html
    assert "ИНН: неверная контрольная сумма" in html
    assert 'name="pos-0-quantity" value="1,2345"' in html  # what was typed stays
    assert rows_written(app) == before


@pytest.mark.db
def test_rows_are_added_and_removed_without_javascript(app, logged_in, merchant):
    service = services(app, merchant)[0]
    data = valid_form(logged_in, service.id, add_position="1", **form_rows(row()))
    html = logged_in.post("/invoices/new/positions", data=data).get_data(as_text=True)
    assert "<html" in html and 'name="pos-1-name"' in html and 'name="pos-2-name"' not in html
    assert 'name="pos-0-name" value="Консультация"' in html
    assert 'name="req-account" value="34234234"' in html  # the rest of the form survives

    data = valid_form(logged_in, service.id, remove_position="0", **form_rows(row(), row(name="Выезд")))
    html = logged_in.post("/invoices/new/positions", data=data).get_data(as_text=True)
    assert 'name="pos-0-name" value="Выезд"' in html and 'name="pos-1-name"' not in html


@pytest.mark.db
def test_typing_a_row_answers_the_sums_out_of_band(app, logged_in, merchant):
    service = services(app, merchant)[0]
    data = valid_form(logged_in, service.id, **form_rows(row(quantity="3", price="100,10", vat="20"),
                                                         row(name="", quantity="1", price="")))
    html = logged_in.post("/invoices/new/positions", data=data,
                          headers={"HX-Request": "true", "HX-Target": "positions-sum"}).get_data(as_text=True)
    assert "<html" not in html and 'name="pos-0-name"' not in html  # the inputs being typed in stay
    assert "300,30\u00a0₽" in html and "в том числе НДС" in html and "50,05\u00a0₽" in html
    assert '<output id="pos-0-amount" hx-swap-oob="true">300,30\u00a0₽</output>' in html
    assert '<output id="pos-1-amount" hx-swap-oob="true">—</output>' in html
    assert 'id="amount-field" hx-swap-oob="true"' in html and 'value="300,30"' in html and "readonly" in html


@pytest.mark.db
def test_the_rows_posted_are_capped(app, logged_in, merchant):
    service = services(app, merchant)[0]
    many = form_rows(*[row(name=f"Позиция {i}", price="1") for i in range(positions.MAX_POSITIONS + 5)])
    before = rows_written(app)
    response = logged_in.post("/invoices", data=valid_form(logged_in, service.id, **many))
    assert response.status_code == 422
    assert f"Не больше {positions.MAX_POSITIONS} позиций" in response.get_data(as_text=True)
    assert rows_written(app) == before


@pytest.mark.db
def test_repeat_copies_positions_and_payer_organisation(app, logged_in, merchant):
    stored = positions.clean_positions([row(vat="20"), row(name="Выезд", quantity="2", price="300")], MAXIMUM)
    org = {"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001"}
    invoice = make_invoice(app, merchant, positions=stored, payer_org=org)
    assert invoice.amount_kop == 210000
    response = logged_in.post(f"/invoices/{invoice.number}/repeat",
                              data={"csrf_token": csrf_token(logged_in, f"/invoices/{invoice.number}")})
    assert response.status_code in (303, 204)
    with app.app_context(), db.connection_context():
        copy = Invoice.of(merchant).where(Invoice.repeat_of == invoice.id).get()
        assert (copy.positions, copy.payer_org, copy.amount_kop) == (stored, org, 210000)


@pytest.mark.db
def test_csv_counts_positions(app, logged_in, merchant):
    stored = positions.clean_positions([row(), row(name="Выезд")], MAXIMUM)
    make_invoice(app, merchant, positions=stored)
    make_invoice(app, merchant, key="555")
    lines = logged_in.get("/invoices.csv").get_data(as_text=True).splitlines()
    header = lines[0].split(";")
    column = header.index("Позиций")
    assert sorted(line.split(";")[column] for line in lines[1:]) == ["0", "2"]


@given(st.lists(st.tuples(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999"), places=3),
                          st.integers(min_value=1, max_value=10_000_00),
                          st.sampled_from(positions.VAT_RATES)), min_size=1, max_size=10))
def test_typed_rows_keep_exact_kopecks_and_their_vat_never_exceeds_the_line(lines):
    rows = [row(quantity=format(q, "f").replace(".", ","), price=f"{p // 100},{p % 100:02d}", vat=vat)
            for q, p, vat in lines]
    try:
        cleaned = positions.clean_positions(rows, MAXIMUM)
    except positions.PositionErrors as exc:  # only a line under a kopeck, or a sum over the maximum
        tiny = {i for i, (q, p, _) in enumerate(lines) if q * p < Decimal("0.5")}
        assert set(exc.rows) == tiny if exc.rows else sum(q * p for q, p, _ in lines) > MAXIMUM * 100 - 1
        return
    for (q, p, vat), stored in zip(lines, cleaned):
        exact = q * p  # kopecks, up to three places
        assert abs(stored["amount_kop"] - exact) <= Decimal("0.5")
        assert type(stored["amount_kop"]) is int and Decimal(stored["quantity"]) == q
        assert 0 <= positions.vat_of(stored["amount_kop"], vat) < stored["amount_kop"] or stored["amount_kop"] == 0
    assert positions.total(cleaned) == sum(s["amount_kop"] for s in cleaned)
