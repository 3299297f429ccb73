"""«Выписки» in the cabinet: upload, the three lists, decisions, who may see what."""
import io
import json
import re

import pytest

from ckbiz.extensions import db
from ckbiz.models import Invoice, Statement, StatementLine
from conftest import AuthActions, csrf_token
from factories import make_invoice, make_statement, other_merchant, team_member
from statement_files import Payment, bank_export, statement_file


def upload(client, raw, name="kl_to_1c.txt"):
    """Submit the upload form as a browser does."""
    token = csrf_token(client, "/statements")
    return client.post("/statements", data={"csrf_token": token, "file": (io.BytesIO(raw), name)},
                       content_type="multipart/form-data")


def decide(client, statement_id, line_id, **data):
    """Press a button of a line."""
    token = csrf_token(client, f"/statements/{statement_id}")
    return client.post(f"/statements/{statement_id}/lines/{line_id}/match", data={"csrf_token": token, **data})


def section(html, element_id):
    """The text of one list of the statement page."""
    return re.search(rf'<section class="card" id="{element_id}">(.*?)</section>', html, re.S).group(1)


@pytest.mark.parametrize("encoding", ["cp1251", "cp866"])
def test_upload_pays_suggests_and_leaves_the_rest(app, logged_in, merchant, encoding):
    paid, suggested = make_invoice(app, merchant, amount_kop=150000), make_invoice(app, merchant, amount_kop=2500)
    raw = statement_file([Payment(number="1", amount="1500.00", purpose=f"Оплата по счету № {paid.number}"),
                          Payment(number="2", amount="25.00", purpose="за услуги"),
                          Payment(number="3", amount="3.00", purpose="без номера")], encoding=encoding)
    response = upload(logged_in, raw)
    assert response.status_code == 303 and response.headers["Location"].startswith("/statements/")
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Оплачено: 1, предложено: 1, не найдено: 1." in page
    assert "Выписка по счету 40702810200000012345" in page and "27.11.2026 – 27.11.2026" in page
    assert f"№ {paid.number}" in section(page, "paid") and "1\xa0500,00\xa0₽" in section(page, "paid")
    assert "совпадает только сумма" in section(page, "suggested") and "Подтвердить" in section(page, "suggested")
    assert "Сопоставить" in section(page, "unmatched") and "3,00\xa0₽" in section(page, "unmatched")
    history = logged_in.get("/invoices").get_data(as_text=True)
    assert "(переводом)" in history
    assert "Статус: оплачен (переводом)" in logged_in.get(f"/invoices/{paid.number}").get_data(as_text=True)
    assert f"№ {suggested.number}" in section(page, "suggested")


def test_confirm_reject_and_match_by_hand(app, logged_in, merchant):
    first, second = make_invoice(app, merchant, amount_kop=4200), make_invoice(app, merchant, amount_kop=9900)
    ids = make_statement(app, merchant, [Payment(number="1", amount="42.00", purpose="за январь"),
                                         Payment(number="2", amount="99.00", purpose="за февраль")])
    with app.app_context(), db.connection_context():
        line_ids = [line.id for line in StatementLine.select().order_by(StatementLine.id)]
    response = decide(logged_in, ids["statement_id"], line_ids[0], action="confirm")
    assert response.status_code == 303
    assert "Платеж подтвержден" in logged_in.get(response.headers["Location"]).get_data(as_text=True)
    decide(logged_in, ids["statement_id"], line_ids[1], action="reject")
    refused = decide(logged_in, ids["statement_id"], line_ids[1], action="match", number="777")
    assert "Счета № 777 нет." in logged_in.get(refused.headers["Location"]).get_data(as_text=True)
    decide(logged_in, ids["statement_id"], line_ids[1], action="match", number=str(second.number))
    with app.app_context(), db.connection_context():
        assert [Invoice.get_by_id(i.id).paid_by for i in (first, second)] == ["transfer", "transfer"]
        assert Statement.get_by_id(ids["statement_id"]).paid_count == 2
    page = logged_in.get(f"/statements/{ids['statement_id']}").get_data(as_text=True)
    assert "сопоставлено вручную" in section(page, "paid")


def test_with_htmx_a_decision_swaps_the_lists_and_says_so_in_a_toast(app, logged_in, merchant):
    invoice = make_invoice(app, merchant, amount_kop=4200)
    ids = make_statement(app, merchant, [Payment(number="1", amount="42.00", purpose="за январь")])
    token = csrf_token(logged_in, f"/statements/{ids['statement_id']}")
    path = f"/statements/{ids['statement_id']}/lines/{ids['line_id']}/match"
    headers = {"HX-Request": "true", "HX-Target": "statement-lines", "X-CSRFToken": token}
    response = logged_in.post(path, data={"action": "confirm"}, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="statement-lines">')
    assert "<html" not in html and f"№ {invoice.number}" in section(html, "paid")
    assert json.loads(response.headers["HX-Trigger"])["showMessage"] == {
        "level": "success", "message": "Платеж подтвержден: счет оплачен переводом."}
    again = logged_in.post(path, data={"action": "confirm"}, headers=headers)
    assert again.status_code == 409
    assert json.loads(again.headers["HX-Trigger"])["showMessage"]["message"] == "Эта строка выписки уже разобрана."


def test_importing_again_says_so_and_changes_nothing(app, logged_in, merchant):
    invoice = make_invoice(app, merchant, amount_kop=150000)
    raw = bank_export(invoice.number, "1500.00")
    assert upload(logged_in, raw).status_code == 303
    again = upload(logged_in, raw)
    assert again.headers["Location"] == "/statements"
    assert "Эта выписка уже загружена" in logged_in.get("/statements").get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert Statement.select().count() == 1


def test_a_statement_without_payments_says_so(app, logged_in, merchant):
    response = upload(logged_in, statement_file([], balances=True))
    assert "В выписке нет платежей." in logged_in.get(response.headers["Location"]).get_data(as_text=True)


def test_a_bad_file_is_shown_with_its_line_and_changes_nothing(app, logged_in, merchant):
    response = upload(logged_in, statement_file([Payment(amount="сто")]))
    assert response.status_code == 422
    assert "Строка 15: неверная сумма «сто»." in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert Statement.select().count() == 0


def test_a_statement_passes_a_lower_general_request_limit_but_not_its_own(app, logged_in, merchant):
    raw = statement_file([Payment(number=str(i)) for i in range(40)])
    app.config.update(MAX_CONTENT_LENGTH=1000, STATEMENT_MAX_BYTES=len(raw) + 10)
    assert upload(logged_in, raw).status_code == 303
    app.config["STATEMENT_MAX_BYTES"] = len(raw) - 10
    response = upload(logged_in, statement_file([Payment(number=str(i), date="28.11.2026") for i in range(40)]))
    assert response.status_code == 422
    assert f"Файл больше допустимого: можно не больше {len(raw) - 10} байт." in response.get_data(as_text=True)
    app.config["STATEMENT_MAX_BYTES"] = 500  # the file is past it and the form's envelope too
    response = upload(logged_in, statement_file([Payment(number=str(i), date="29.11.2026") for i in range(150)]))
    assert response.status_code == 413
    assert "Файл больше допустимого: можно не больше 500 байт." in response.get_data(as_text=True)


def test_a_large_upload_from_a_stranger_or_a_viewer_is_refused_before_anything(app, client, merchant):
    app.config.update(MAX_CONTENT_LENGTH=1000)
    big = {"file": (io.BytesIO(b"x" * 5000), "kl_to_1c.txt")}
    stranger = client.post("/statements", data=dict(big), content_type="multipart/form-data")
    assert stranger.status_code == 302 and stranger.headers["Location"].startswith("/login")
    team_member(app, merchant, "9165550202", "viewer")
    AuthActions(client).login("9165550202", "member password")
    viewer = client.post("/statements", data={"file": (io.BytesIO(b"x" * 5000), "kl_to_1c.txt")},
                         content_type="multipart/form-data")
    assert viewer.status_code == 403 and "Загружать выписки могут владелец и бухгалтер." in viewer.get_data(as_text=True)


def test_a_viewer_is_refused_and_sees_no_tab(app, merchant):
    team_member(app, merchant, "9165550202", "viewer")
    client = app.test_client()
    AuthActions(client).login("9165550202", "member password")
    refused = client.get("/statements")
    assert refused.status_code == 403 and "Загружать выписки могут владелец и бухгалтер." in refused.get_data(
        as_text=True)
    assert 'href="/statements"' not in client.get("/invoices").get_data(as_text=True)


def test_an_accountant_uploads(app, merchant):
    team_member(app, merchant, "9165550303", "accountant")
    client = app.test_client()
    AuthActions(client).login("9165550303", "member password")
    assert 'href="/statements"' in client.get("/invoices").get_data(as_text=True)
    assert upload(client, statement_file([Payment()])).status_code == 303


def test_another_merchants_statement_is_not_found(app, logged_in, merchant):
    theirs = make_statement(app, other_merchant(app))
    assert logged_in.get(f"/statements/{theirs['statement_id']}").status_code == 404
    token = csrf_token(logged_in, "/statements")
    response = logged_in.post(f"/statements/{theirs['statement_id']}/lines/{theirs['line_id']}/match",
                              data={"csrf_token": token, "action": "reject"})
    assert response.status_code == 404
    mine = make_statement(app, merchant, [Payment(number="9", purpose="x")])
    response = logged_in.post(f"/statements/{mine['statement_id']}/lines/{theirs['line_id']}/match",
                              data={"csrf_token": token, "action": "reject"})
    assert response.status_code == 404


def test_the_statement_page_reads_the_same_queries_for_three_lines_or_thirty(app, logged_in, merchant, caplog):
    """No query per line: peewee logs each query it runs."""
    for count in (3, 30):
        make_invoice(app, merchant, amount_kop=count)
    small = make_statement(app, merchant, [Payment(number=str(i), purpose="счет №1") for i in range(3)])
    large = make_statement(app, merchant, [Payment(number=str(i), date="28.11.2026", purpose="счет №2")
                                           for i in range(30)])
    queries = []
    for ids in (small, large):
        caplog.clear()
        with caplog.at_level("DEBUG", logger="peewee"):
            assert logged_in.get(f"/statements/{ids['statement_id']}").status_code == 200
        queries.append(len([r for r in caplog.records if r.name == "peewee"]))
    assert 0 < queries[0] == queries[1]
