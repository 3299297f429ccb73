"""54-ФЗ receipts (DESIGN "Fiscal receipts"): what goes to the provider with a payment, and items that
add up to the amount charged, to the kopeck."""
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from ckbiz.domain import money, receipts
from ckbiz.domain.positions import VAT_RATES, line_amount
from ckbiz.extensions import db
from ckbiz.models import Merchant
from conftest import csrf_token
from factories import make_invoice
from test_providers import click_pay

SERVICE = {"title": "демо-услуга", "vat": "none"}


@st.composite
def invoices(draw):
    """An invoice as issued: positions or none, a commission rule, the amount their sum."""
    positions = []
    for _ in range(draw(st.integers(0, 6))):
        quantity = Decimal(draw(st.integers(1, 100_000))) / 1000
        price_kop = draw(st.integers(1, 10_000_000))
        amount_kop = line_amount(quantity, price_kop)
        if amount_kop:
            positions.append({"name": draw(st.text(min_size=1, max_size=300)), "quantity": format(quantity, "f"),
                              "unit": "шт.", "price_kop": price_kop, "vat": draw(st.sampled_from(VAT_RATES)),
                              "amount_kop": amount_kop})
    amount_kop = sum(p["amount_kop"] for p in positions) or draw(st.integers(1, 100_000_000))
    minimum = draw(st.integers(0, 10_000))
    commission_kop = money.commission(amount_kop, draw(st.integers(0, 1000)), minimum,
                                      draw(st.one_of(st.none(), st.integers(minimum, 100_000))))
    return SimpleNamespace(positions=positions, amount_kop=amount_kop, commission_kop=commission_kop,
                           issued_with={"service": SERVICE})


@settings(max_examples=300, deadline=None)
@given(invoices(), st.booleans())
def test_receipt_items_add_up_to_the_charge_to_the_kopeck(invoice, agent):
    items = receipts.items(invoice, ("Демо-организация", "7701000001") if agent else None)
    assert sum(item.amount_kop for item in items) == invoice.amount_kop + invoice.commission_kop
    for item in items:
        assert item.quantity * item.price_kop == item.amount_kop and len(item.name) <= 128
    assert (items[-1].name == "Комиссия за оплату картой") == bool(invoice.commission_kop)
    assert len(items) == max(len(invoice.positions), 1) + bool(invoice.commission_kop)


def receipts_on(app, **settings):
    app.config.update(RECEIPTS=True, **settings)


def test_yookassa_payment_carries_the_receipt_with_the_merchants_tax_system(
        app, client, merchant, logged_in, yookassa):
    receipts_on(app)
    form = client.get("/settings").get_data(as_text=True)
    assert "Система налогообложения" in form and "УСН доход − расход" in form
    answer = client.post("/settings", data={"csrf_token": csrf_token(client, "/settings"), "default_validity_hours": "72",
                                            "timezone": "Europe/Moscow", "tax_system": "usn_income"})
    assert answer.status_code == 303
    invoice = make_invoice(app, merchant, amount_kop=10000)
    assert click_pay(client, invoice).status_code == 303
    [create] = yookassa.api_requests("/v3/payments")
    assert create["json"]["receipt"] == {
        "customer": {"email": "payer@example.com"}, "tax_system_code": 2,
        "items": [{"description": "демо-услуга", "quantity": "1", "amount": {"value": "100.00", "currency": "RUB"},
                   "vat_code": 1, "payment_subject": "service", "payment_mode": "full_payment"},
                  {"description": "Комиссия за оплату картой", "quantity": "1",
                   "amount": {"value": "1.50", "currency": "RUB"}, "vat_code": 1, "payment_subject": "service",
                   "payment_mode": "full_payment"}]}


def test_tbank_receipt_as_payment_agent_names_the_supplier_and_keeps_the_token(app, client, merchant, tbank):
    receipts_on(app, RECEIPT_AGENT="payment_agent", OPERATOR_TAX_SYSTEM="usn_income_outcome")
    with app.app_context(), db.connection_context():
        Merchant.update(tax_system="patent").where(Merchant.id == merchant.id).execute()  # not the agent's
    positions = [{"name": "Вывоз мусора", "quantity": "2", "unit": "усл.", "price_kop": 25000, "vat": "20",
                  "amount_kop": 50000},
                 {"name": "Пропуск", "quantity": "0.333", "unit": "шт.", "price_kop": 1001, "vat": "none",
                  "amount_kop": 333}]
    invoice = make_invoice(app, merchant, amount_kop=50333, email=None, positions=positions)
    assert click_pay(client, invoice).status_code == 303  # the fake refuses a wrong Token or sum
    [init] = tbank.api_requests("/v2/Init")
    receipt = init["json"]["Receipt"]
    assert (receipt["FfdVersion"], receipt["Taxation"], receipt["Phone"]) == ("1.2", "usn_income_outcome", "+79026376577")
    supplier = {"AgentData": {"AgentSign": "payment_agent"}, "SupplierInfo": {"Name": "Демо-организация",
                                                                              "Inn": "7701000001"}}
    first, second, commission = receipt["Items"]
    assert first == {"Name": "Вывоз мусора", "Price": 25000, "Quantity": 2, "Amount": 50000, "Tax": "vat20",
                     "PaymentMethod": "full_payment", "PaymentObject": "service", "MeasurementUnit": "шт", **supplier}
    # 0.333 × 10,01 ₽ is not 3,33 ₽ to the kopeck: one unit of the line's amount.
    assert (second["Quantity"], second["Price"], second["Amount"]) == (1, 333, 333)
    assert commission["Name"] == "Комиссия за оплату картой" and "SupplierInfo" not in commission
    assert sum(item["Amount"] for item in receipt["Items"]) == init["json"]["Amount"]


def test_no_receipt_unless_asked(app, client, merchant, tbank):
    assert click_pay(client, make_invoice(app, merchant)).status_code == 303
    assert "Receipt" not in tbank.api_requests("/v2/Init")[0]["json"]
