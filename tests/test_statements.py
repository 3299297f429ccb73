"""Bank statements: each outcome of a payment, idempotence, imports at once, bad files, the CLI."""
import threading

import pytest

from ckbiz.domain import lifecycle, statements
from ckbiz.domain.statement_format import StatementError
from ckbiz.extensions import db
from ckbiz.models import Invoice, InvoiceEvent, Merchant, Statement, StatementLine
from factories import make_invoice, overdue
from statement_files import OUR_ACCOUNT, Payment, bank_export, statement_file


def run_import(app, merchant, raw, actor="Иванова А."):
    """Import as a user would, in a request of its own."""
    with app.test_request_context(), db.connection_context():
        return statements.import_statement(Merchant.get_by_id(merchant.id), raw, "kl_to_1c.txt", actor)


def invoice_state(app, invoice):
    """(status, paid_by, the notes of its «paid» events)."""
    with app.app_context(), db.connection_context():
        fresh = Invoice.get_by_id(invoice.id)
        notes = [e.note for e in fresh.events.where(InvoiceEvent.kind == "paid").order_by(InvoiceEvent.id)]
        return fresh.status, fresh.paid_by, notes


def lines(app):
    """Every stored line as (outcome, reason, invoice number or None), in file order."""
    with app.app_context(), db.connection_context():
        query = StatementLine.select().order_by(StatementLine.id)
        return [(l.outcome, l.reason, l.invoice.number if l.invoice_id else None) for l in query]


@pytest.mark.parametrize("encoding", ["cp1251", "cp866"])
def test_number_and_exact_amount_pay_by_transfer(app, merchant, encoding):
    invoice = make_invoice(app, merchant, amount_kop=150000)
    raw = statement_file([Payment(number="77", amount="1500.00", purpose=f"Оплата по счету № {invoice.number}, "
                                  "ЛИЦ. СЧЕТ 34234234")], encoding=encoding)
    result = run_import(app, merchant, raw)
    assert (result.paid, result.suggested, result.unmatched, result.ignored) == (1, 0, 0, 0)
    status, paid_by, notes = invoice_state(app, invoice)
    assert (status, paid_by) == ("paid", "transfer")
    assert notes == ["переводом: платежное поручение № 77 от 27.11.2026, ООО \"Ромашка\", ИНН 7707083893"]
    with app.app_context(), db.connection_context():
        event = Invoice.get_by_id(invoice.id).events.where(InvoiceEvent.kind == "paid").get()
        assert event.actor == "Иванова А." and Invoice.get_by_id(invoice.id).paid_at is not None


def test_an_expired_invoice_is_paid_too(app, merchant):
    invoice = make_invoice(app, merchant)
    overdue(app, invoice)
    with app.app_context(), db.connection_context():
        lifecycle.expire_overdue()
    run_import(app, merchant, statement_file([Payment(purpose=f"сч.№{invoice.number}")]))
    assert invoice_state(app, invoice)[:2] == ("paid", "transfer")


def test_the_number_with_another_amount_is_a_suggestion_to_confirm(app, merchant):
    invoice = make_invoice(app, merchant, amount_kop=150000)
    result = run_import(app, merchant, statement_file([Payment(amount="1400.00", purpose=f"счет №{invoice.number}")]))
    assert result.suggested == 1 and lines(app) == [("suggested", "сумма не совпадает со счетом", invoice.number)]
    assert invoice_state(app, invoice)[0] == "issued"
    with app.test_request_context(), db.connection_context():
        statements.confirm(StatementLine.get(), "Петров П.")
        with pytest.raises(statements.MatchRefused, match="уже разобрана"):
            statements.confirm(StatementLine.get(), "Петров П.")
        assert Statement.get().paid_count == 1 and Statement.get().suggested_count == 0
    assert invoice_state(app, invoice)[:2] == ("paid", "transfer")
    assert lines(app)[0][0] == "paid"


def test_the_amount_alone_is_a_suggestion_and_a_rejected_one_is_matched_by_hand(app, merchant):
    invoice = make_invoice(app, merchant, amount_kop=123456)
    other = make_invoice(app, merchant, amount_kop=99900)
    run_import(app, merchant, statement_file([Payment(amount="1234.56", purpose="за ремонт, Иванов")]))
    assert lines(app) == [("suggested", "совпадает только сумма", invoice.number)]
    with app.test_request_context(), db.connection_context():
        statements.reject(StatementLine.get(), "Петров П.")
        assert lines(app) == [("unmatched", "предложение отклонено", None)]
        with pytest.raises(statements.MatchRefused, match="Счета № 999 нет"):
            statements.match(Merchant.get_by_id(merchant.id), StatementLine.get(), 999, "Петров П.")
        statements.match(Merchant.get_by_id(merchant.id), StatementLine.get(), other.number, "Петров П.")
    assert invoice_state(app, other)[:2] == ("paid", "transfer")
    assert invoice_state(app, invoice)[0] == "issued"


def test_an_amount_two_invoices_share_suggests_nothing(app, merchant):
    make_invoice(app, merchant, amount_kop=50000)
    make_invoice(app, merchant, amount_kop=50000)
    result = run_import(app, merchant, statement_file([Payment(amount="500.00", purpose="оплата")]))
    assert result.unmatched == 1 and lines(app) == [("unmatched", "в назначении нет номера счета", None)]


def test_an_invoice_already_paid_is_never_paid_twice(app, merchant):
    invoice = make_invoice(app, merchant)
    with app.test_request_context(), db.connection_context():
        lifecycle.mark_paid_other_way(Invoice.get_by_id(invoice.id), "Петров П.")
    raw = statement_file([Payment(number="1", purpose=f"счет №{invoice.number}"),
                          Payment(number="2", purpose=f"счет №{invoice.number}")])
    result = run_import(app, merchant, raw)
    assert result.suggested == 2 and {l[1] for l in lines(app)} == {"счет уже оплачен"}
    assert invoice_state(app, invoice)[:2] == ("paid", "other")
    with app.test_request_context(), db.connection_context(), pytest.raises(lifecycle.TransitionRefused):
        statements.confirm(StatementLine.select().first(), "Петров П.")
    assert lines(app)[0][0] == "suggested"


def test_two_payments_of_one_invoice_in_one_file_pay_it_once(app, merchant):
    invoice = make_invoice(app, merchant)
    raw = statement_file([Payment(number="1", purpose=f"счет №{invoice.number}"),
                          Payment(number="2", purpose=f"по счету № {invoice.number}")])
    result = run_import(app, merchant, raw)
    assert (result.paid, result.suggested) == (1, 1) and lines(app)[1][1] == "счет уже оплачен"
    assert len(invoice_state(app, invoice)[2]) == 1


def test_a_cancelled_invoice_is_a_suggestion_never_paid(app, merchant):
    invoice = make_invoice(app, merchant, status="cancelled")
    run_import(app, merchant, statement_file([Payment(purpose=f"счет №{invoice.number}")]))
    assert lines(app) == [("suggested", "счет отменен", invoice.number)]
    with app.test_request_context(), db.connection_context(), pytest.raises(lifecycle.TransitionRefused):
        statements.confirm(StatementLine.get(), "Петров П.")
    assert invoice_state(app, invoice)[0] == "cancelled"


def test_outgoing_bank_orders_and_the_operators_settlements_are_ignored(app, merchant):
    app.config["OPERATOR_INN"] = "7710140679"
    invoice = make_invoice(app, merchant)
    purpose = f"Оплата по счету № {invoice.number}"
    raw = statement_file([
        Payment(number="1", purpose=purpose, payer_account=OUR_ACCOUNT, payee_account="40702810900000000001"),
        Payment(number="2", purpose=purpose, kind="Банковский ордер"),
        Payment(number="3", purpose=purpose, extra={"ВидОплаты": "17"}),
        Payment(number="4", purpose=purpose, payer_inn="7710140679"),
        Payment(number="5", purpose=purpose, payee_account="40702810900000000002"),
    ])
    result = run_import(app, merchant, raw)
    assert (result.ignored, result.paid) == (5, 0)
    assert [l[1] for l in lines(app)] == ["исходящий платеж", "ордер банка", "ордер банка",
                                          "перевод оператора (расчеты по картам)", "платеж не на счет получателя"]
    assert invoice_state(app, invoice)[0] == "issued"


def test_a_real_bank_export(app, merchant):
    invoice = make_invoice(app, merchant, amount_kop=150000)
    result = run_import(app, merchant, bank_export(invoice.number, "1500.00"))
    assert (result.paid, result.ignored) == (1, 2)
    with app.app_context(), db.connection_context():
        statement = Statement.get()
        assert (statement.account, statement.opening_kop, statement.closing_kop) == (OUR_ACCOUNT, 1_000_000, 1_150_000)
        assert str(statement.date_from) == "2026-11-01"


def test_importing_again_or_an_overlapping_statement_changes_nothing(app, merchant):
    first, second = make_invoice(app, merchant), make_invoice(app, merchant, amount_kop=30000)
    one = Payment(number="1", purpose=f"счет №{first.number}")
    two = Payment(number="2", amount="300.00", date="28.11.2026", purpose=f"счет №{second.number}")
    run_import(app, merchant, statement_file([one]))
    again = run_import(app, merchant, statement_file([one]))
    assert again.statement is None and again.known == 1
    overlapping = run_import(app, merchant, statement_file([one, two], date_to="28.11.2026"))
    assert (overlapping.paid, overlapping.known) == (1, 1)
    with app.app_context(), db.connection_context():
        assert Statement.select().count() == 2 and StatementLine.select().count() == 2
    assert [len(invoice_state(app, i)[2]) for i in (first, second)] == [1, 1]


def test_two_imports_at_once_pay_once(app, merchant):
    invoices = [make_invoice(app, merchant, amount_kop=10000 + i) for i in range(20)]
    raw = statement_file([Payment(number=str(i), amount=f"{(10000 + i) / 100:.2f}",
                                  purpose=f"Оплата по счету № {invoice.number}") for i, invoice in enumerate(invoices)])
    barrier, results, errors = threading.Barrier(2), [], []

    def importer():
        barrier.wait()
        try:
            results.append(run_import(app, merchant, raw))
        except Exception as exc:  # reported below: a thread's exception would vanish
            errors.append(exc)

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert sorted(r.paid for r in results) == [0, 20] and sorted(r.known for r in results) == [0, 20]
    assert all(len(invoice_state(app, i)[2]) == 1 for i in invoices)


@pytest.mark.parametrize("raw, message", [
    (b"not a statement", "это не выписка 1С"),
    (statement_file([Payment(), Payment(number="2")])[:-80], "Строка 62: файл оборван посреди строки"),
    (statement_file([Payment(), Payment(number="2")])[:-30], "Строка 38: файл оборван: раздел «Платежное поручение»"),
    (statement_file([Payment(), Payment(number="2", amount="12,3,4")]), "неверная сумма «12,3,4»"),
    (statement_file([Payment(), Payment(number="2", date="2026-11-27")]), "неверная дата «2026-11-27»"),
    (statement_file([Payment()], end=False), "нет строки «КонецФайла»"),
])
def test_a_bad_file_changes_nothing(app, merchant, raw, message):
    invoice = make_invoice(app, merchant)
    with pytest.raises(StatementError, match=message):
        run_import(app, merchant, raw)
    with app.app_context(), db.connection_context():
        assert Statement.select().count() == 0 and StatementLine.select().count() == 0
    assert invoice_state(app, invoice)[0] == "issued"


def test_a_file_over_the_limit_is_refused(app, merchant):
    app.config["STATEMENT_MAX_BYTES"] = 1000
    with pytest.raises(StatementError, match="Файл больше допустимого: можно не больше 1000 байт."):
        run_import(app, merchant, statement_file([Payment()] * 5))


def test_the_command_line(app, merchant, runner, tmp_path):
    paid, suggested = make_invoice(app, merchant), make_invoice(app, merchant, amount_kop=77700)
    path = tmp_path / "kl_to_1c.txt"
    path.write_bytes(statement_file([Payment(number="1", purpose=f"счет №{paid.number}"),
                                     Payment(number="2", amount="777.00", purpose="за услуги"),
                                     Payment(number="3", amount="1.00", purpose="за услуги")], encoding="cp866"))
    result = runner.invoke(args=["statements", "import", str(path), "--merchant", "+7 916 123-45-67"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "оплачено: 1, предложено: 1, не найдено: 1"
    assert invoice_state(app, paid)[2] and invoice_state(app, suggested)[0] == "issued"
    with app.app_context(), db.connection_context():
        assert Invoice.get_by_id(paid.id).events.where(InvoiceEvent.kind == "paid").get().actor == "оператор"
    path.write_bytes("1CClientBankExchange\r\nКодировка=Windows\r\n".encode("cp1251"))
    bad = runner.invoke(args=["statements", "import", str(path), "--merchant", "9161234567"])
    assert bad.exit_code != 0 and "нет строки «КонецФайла»" in bad.output

