"""«История счетов» (§5): columns, search, status filter, pages, totals, CSV."""
import csv
import io
import re

import pytest
from playhouse.test_utils import count_queries

from ckbiz.extensions import db
from ckbiz.models import Invoice
from conftest import csrf_token, text
from factories import make_invoice, other_merchant


def page(client, query=""):
    response = client.get("/invoices" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def numbers(html):
    return [int(n) for n in re.findall(r'<tr id="invoice-(\d+)"', html)]


def test_the_table_has_the_manuals_columns(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    html = page(logged_in)
    for column in ("Номер", "Услуга", "Плательщик", "Истекает", "Сумма", "Статус", "Инвойс", "Действия"):
        assert f">{column}</th>" in html
    assert "Демо ПА, ЛИЦ. СЧЕТ: 34234234" in text(html)
    assert "+7 902 637-65-77" in html and "payer@example.com" in html
    assert "200,00\u00a0₽" in html and "✉" in html and "выставлен" in html
    assert f'href="/invoices/{invoice.number}"' in html
    for action in ("Напомнить", "Оплачен другим способом", "Отменить"):
        assert action in html


def test_newest_first_and_keyset_pages(app, logged_in, merchant):
    made = [make_invoice(app, merchant, key=str(1000 + i)).number for i in range(120)]
    first = page(logged_in)
    assert numbers(first) == made[::-1][:50]
    assert f"after={made[::-1][49]}" in first
    second = page(logged_in, f"?after={made[::-1][49]}")
    assert numbers(second) == made[::-1][50:100]
    third = page(logged_in, f"?after={made[::-1][99]}")
    assert numbers(third) == made[::-1][100:] and "Следующие счета" not in third
    assert page(logged_in, "?after=1") .count('<tr id="invoice-') == 0


def test_search_by_key_prefix_number_phone_and_email(app, logged_in, merchant):
    a = make_invoice(app, merchant, key="54234234", phone="9026376577", email="ivan@example.com")
    b = make_invoice(app, merchant, key="54299999", phone="9161112233", email=None)
    c = make_invoice(app, merchant, key="77700000", phone=None, email="olga@example.com")
    assert numbers(page(logged_in, "?q=542")) == [b.number, a.number]
    assert numbers(page(logged_in, "?q=5423")) == [a.number]
    assert numbers(page(logged_in, f"?q={c.number}")) == [c.number]
    for spelling in ("+7 916 111-22-33", "89161112233", "9161112233"):
        assert numbers(page(logged_in, "?q=" + spelling.replace("+", "%2B"))) == [b.number]
    assert numbers(page(logged_in, "?q=olga@example.com")) == [c.number]


def test_status_filter_combines_with_search(app, logged_in, merchant):
    a = make_invoice(app, merchant, key="555001")
    make_invoice(app, merchant, key="555002", status="paid", paid_by="other")
    c = make_invoice(app, merchant, key="666003", status="paid", paid_by="card")
    assert numbers(page(logged_in, "?status=issued")) == [a.number]
    assert numbers(page(logged_in, "?q=666&status=paid")) == [c.number]
    assert numbers(page(logged_in, "?q=555&status=cancelled")) == []


def test_a_search_matching_many_pages_finds_old_matches_and_pages_through_them(app, logged_in, merchant):
    old = make_invoice(app, merchant, key="88800000", status="paid", paid_by="other")
    recent = [make_invoice(app, merchant, key=f"888{i:05d}", email=None).number for i in range(1, 61)]
    assert numbers(page(logged_in, "?q=888&status=paid")) == [old.number]
    first = page(logged_in, "?q=888")
    assert numbers(first) == recent[::-1][:50]
    assert numbers(page(logged_in, f"?q=888&after={recent[10]}")) == recent[:10][::-1] + [old.number]
    assert numbers(page(logged_in, f"?q=888&status=issued&after={recent[10]}")) == recent[:10][::-1]


def test_unknown_status_is_a_message_not_an_error(app, logged_in, merchant):
    make_invoice(app, merchant)
    html = page(logged_in, "?status=bogus")
    assert "Неизвестный статус" in html and len(numbers(html)) == 1


@pytest.mark.parametrize("q", ["'", '"', "%", "_", "' OR 1=1 --", "ёжик", "x" * 1000, "%_%", "\\", "🧾"])
def test_odd_search_strings_behave(app, logged_in, merchant, q):
    make_invoice(app, merchant, key="34234234")
    from urllib.parse import quote
    assert numbers(page(logged_in, "?q=" + quote(q))) == []


def test_live_search_returns_the_results_fragment(app, logged_in, merchant):
    make_invoice(app, merchant)
    response = logged_in.get("/invoices?q=342", headers={"HX-Request": "true", "HX-Target": "history-results"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Демо ПА, ЛИЦ. СЧЕТ: 34234234" in text(html)
    assert "HX-Request" in response.headers["Vary"]
    restore = logged_in.get("/invoices?q=342", headers={"HX-Request": "true", "HX-Target": "history-results",
                                                        "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_totals_by_status_above_the_table(app, logged_in, merchant):
    make_invoice(app, merchant, amount_kop=10000)
    make_invoice(app, merchant, amount_kop=5050)
    make_invoice(app, merchant, amount_kop=100, status="cancelled")
    assert 'hx-get="/invoices/totals"' in page(logged_in)
    html = logged_in.get("/invoices/totals", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "выставлен: 2 · 150,50\u00a0₽" in html and "отменен: 1 · 1,00\u00a0₽" in html
    only = logged_in.get("/invoices/totals?status=cancelled").get_data(as_text=True)
    assert "отменен: 1" in only and "выставлен" not in only


def test_period_filter(app, logged_in, merchant):
    from datetime import timedelta
    from ckbiz.database import utcnow
    old = make_invoice(app, merchant, issued_at=utcnow() - timedelta(days=40))
    new = make_invoice(app, merchant)
    day = (utcnow() - timedelta(days=2)).strftime("%Y-%m-%d")
    assert numbers(page(logged_in, f"?from={day}")) == [new.number]
    assert numbers(page(logged_in, f"?to={day}")) == [old.number]
    assert "ГГГГ-ММ-ДД" in page(logged_in, "?from=yesterday")


def test_csv_export_is_excel_friendly_and_safe(app, logged_in, merchant):
    make_invoice(app, merchant, key="=HYPERLINK(1)", amount_kop=123456)
    make_invoice(app, merchant, key="111", status="cancelled")
    response = logged_in.get("/invoices.csv?status=issued")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Номер", "Услуга", "Ключевой реквизит"]
    assert len(rows) == 2
    assert rows[1][2] == "'ЛИЦ. СЧЕТ: =HYPERLINK(1)" or rows[1][2].startswith("ЛИЦ. СЧЕТ")
    assert rows[1][7] == "1234,56" and rows[1][9] == "выставлен"


def test_csv_cells_starting_a_formula_are_defused(app, logged_in, merchant):
    make_invoice(app, merchant, key="x", email="=cmd@example.com")
    rows = list(csv.reader(io.StringIO(logged_in.get("/invoices.csv").get_data().decode("utf-8-sig")),
                           delimiter=";"))
    assert rows[1][4] == "'=cmd@example.com"


def test_query_count_does_not_grow_with_rows(app, logged_in, merchant):
    make_invoice(app, merchant)
    with app.app_context():
        with count_queries() as few:
            page(logged_in)
    for i in range(30):
        make_invoice(app, merchant, key=str(i))
    with app.app_context():
        with count_queries() as many:
            page(logged_in)
    assert many.count == few.count


def test_another_merchants_invoices_are_invisible(app, client, auth, merchant):
    """The other merchant has № 1 of its own; the first merchant's № 2 it lacks finds nothing."""
    make_invoice(app, merchant, key="911000")
    mine = make_invoice(app, merchant, key="911111")
    make_invoice(app, other_merchant(app), key="911222")
    auth.login(phone="9037778899", password="other password")
    html = page(client, "?q=911")
    assert numbers(html) == [1] and "911222" in html and "911111" not in html
    assert "911111" not in client.get("/invoices.csv").get_data(as_text=True)
    assert mine.number == 2 and numbers(page(client, f"?q={mine.number}")) == []


def rows_html(html):
    """Each row's HTML by its invoice number."""
    return dict((int(n), row) for n, row in re.findall(r'<tr id="invoice-(\d+)">(.*?)</tr>', html, re.S))


def test_one_form_and_one_csrf_token_hold_every_rows_actions(app, logged_in, merchant):
    made = [make_invoice(app, merchant, key=str(5000 + i)).number for i in range(3)]
    html = page(logged_in)
    assert html.count('<form id="history-actions"') == 1
    # The page's CSRF fields: the table's one and the «Выйти» form's; none in a row.
    assert html.count('name="csrf_token"') == 2
    fragment = logged_in.get("/invoices", headers={"HX-Request": "true", "HX-Target": "history-results"})
    assert fragment.get_data(as_text=True).count('name="csrf_token"') == 1
    rows = rows_html(html)
    for number in made:
        assert "<form" not in rows[number] and "csrf_token" not in rows[number]
        assert [f"/invoices/{number}/remind", f"/invoices/{number}/mark-paid", f"/invoices/{number}/cancel"] == \
            re.findall(r'formaction="([^"]+)"', rows[number])


def test_a_button_of_the_history_form_acts_on_its_own_invoice(app, logged_in, merchant):
    first, second = (make_invoice(app, merchant, key=str(6000 + i)) for i in range(2))
    row = rows_html(page(logged_in))[second.number]
    paid = re.search(r'formaction="([^"]+)" data-confirm="([^"]+)">Оплачен другим способом<', row)
    assert paid.groups() == (f"/invoices/{second.number}/mark-paid",
                             f"Отметить счет № {second.number} оплаченным другим способом?")
    paid = paid.group(1)
    token = csrf_token(logged_in, "/invoices")
    # htmx posts the form to the button's formaction; the answer is that invoice's row, retargeted.
    response = logged_in.post(paid, data={"csrf_token": token, "next": "/invoices", "confirm": "1"},
                              headers={"HX-Request": "true", "HX-Target": "history-actions"})
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == f"#invoice-{second.number}"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert numbers(response.get_data(as_text=True)) == [second.number]
    assert "оплачен" in response.get_data(as_text=True)
    # Without JavaScript the same form posts and comes back to the history with a message.
    response = logged_in.post(f"/invoices/{first.number}/remind", data={"csrf_token": token, "next": "/invoices?q=6"})
    assert response.status_code == 303 and response.headers["Location"] == "/invoices?q=6"
    assert f"Напоминание по счету № {first.number} отправлено" in page(logged_in, "?q=6")
    with app.app_context(), db.connection_context():
        assert Invoice.get_by_id(second.id).status == "paid" and Invoice.get_by_id(first.id).status == "issued"
