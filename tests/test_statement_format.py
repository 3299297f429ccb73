"""Reading 1C «Клиент-банк» files and the invoice number in a payment's purpose."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ckbiz.domain.qr import purpose_text
from ckbiz.domain.statement_format import StatementError, invoice_numbers, parse
from statement_files import OUR_ACCOUNT, Payment, bank_export, statement_file, statement_text


@pytest.fixture
def context(app):
    """Messages are translated strings: they need the app."""
    with app.test_request_context():
        yield


@pytest.mark.parametrize("encoding", ["cp1251", "cp866", "utf-8"])
def test_each_encoding_reads_the_same(context, encoding):
    raw = statement_file([Payment(amount="1500.50", payer="ИП Иванов")], encoding=encoding)
    statement = parse(raw)
    (doc,) = statement.documents
    assert (doc.amount_kop, doc.payer_name, doc.payee_account, doc.kind) == (
        150050, "ИП Иванов", OUR_ACCOUNT, "Платежное поручение")
    assert doc.purpose == "Оплата по счету № 1, ЛИЦ. СЧЕТ 34234234"
    assert statement.accounts == [OUR_ACCOUNT]


def test_a_real_bank_export_with_balances_and_budget_fields(context):
    statement = parse(bank_export(1024, "1500.00"))
    assert (statement.opening_kop, statement.closing_kop) == (1_000_000, 1_150_000)
    assert (statement.date_from.isoformat(), statement.date_to.isoformat()) == ("2026-11-01", "2026-11-30")
    assert [d.number for d in statement.documents] == ["501", "9", "77"]
    assert statement.documents[1].kind == "Банковский ордер"


def test_utf8_with_a_byte_order_mark(context):
    assert len(parse(b"\xef\xbb\xbf" + statement_text([Payment()]).encode()).documents) == 1


@pytest.mark.parametrize("raw, message", [
    (b"hello world\r\n", "Строка 1: это не выписка 1С"),
    (b"", "Строка 1: это не выписка 1С"),
    (statement_file([Payment()], end=False), "нет строки «КонецФайла»"),
    (statement_file([Payment()])[:-60], "Строка 12: файл оборван: раздел «Платежное поручение», начатый здесь, "
                                        "не закрыт строкой «КонецДокумента»"),
    (statement_file([Payment(amount="1 500.00")]), "Строка 15: неверная сумма «1 500.00»"),
    (statement_file([Payment(amount="15.005")]), "Строка 15: неверная сумма"),
    (statement_file([Payment(date="31.02.2026")]), "Строка 14: неверная дата «31.02.2026»"),
    (statement_text([Payment()], encoding="cp866").encode("cp1251"), "Строка 3: файл записан не в той кодировке"),
    (statement_text([Payment()]).replace("Кодировка=Windows", "Кодировка=KOI8").encode("cp1251"),
     "Строка 3: файл записан не в той кодировке"),
])
def test_bad_files_name_the_line(context, raw, message):
    with pytest.raises(StatementError, match=message):
        parse(raw)


@pytest.mark.parametrize("purpose", [
    "Оплата по счету № 1024, ЛИЦ. СЧЕТ 34234234",
    "оплата сч. 1024",
    "по счету N1024 от 27.11.2026",
    "счет №1024",
    "сч.№1024 НДС не облагается",
    "Оплата по счету 1024. НДС не облагается",
    "Оплата по счету на оплату № 1024 от 27.11.2026 за услуги, в т.ч. НДС 20% 250.00",
    "ОПЛАТА ПО СЧЁТУ №1024",
    "Счет # 1024; Иванов И.И.",
])
def test_the_ways_people_write_the_number(purpose):
    assert invoice_numbers(purpose) == [1024]


@pytest.mark.parametrize("purpose", [
    "Оплата по договору 1024 от 27.11.2026",
    "Перевод на расч. счет 40702810200000012345",
    "ЛИЦ. СЧЕТ 34234234",
    "по счету № 27.11.2026",
    "по счету № 1024/1",
    "по счету № 1024-2",
    "оплата сч. 1024,50 руб",
    "Оплата по счету № 407028102000000123",
    "счет № 0",
    "",
])
def test_what_is_not_an_invoice_number(purpose):
    assert invoice_numbers(purpose) == []


def test_several_numbers_are_all_reported():
    assert invoice_numbers("Оплата по счетам: счет № 12, счет № 13") == [12, 13]


NUMBERS = st.integers(min_value=1, max_value=10**12 - 1)
TEMPLATES = ["Оплата по счету № {n}", "оплата сч. {n}", "по счету N{n} от 27.11.2026", "счет №{n}", "сч.№{n}",
             "Оплата по счету {n}, НДС не облагается"]


@given(n=NUMBERS, template=st.sampled_from(TEMPLATES), tail=st.sampled_from(["", " НДС не облагается", ", ФИО Петров",
                                                                              ". Без НДС", " от 01.12.2026"]))
def test_property_the_number_is_found_with_any_tail(n, template, tail):
    assert invoice_numbers(template.format(n=n) + tail) == [n]


@given(n=NUMBERS, label=st.sampled_from(["ЛИЦ. СЧЕТ", "Лицевой счет", "ДОГОВОР", "СЧЕТ"]),
       value=st.from_regex(r"[0-9]{1,20}", fullmatch=True))
def test_property_our_qr_purpose_gives_its_number_not_the_key(n, label, value):
    assert invoice_numbers(purpose_text(n, label, value)) == [n]


@given(n=NUMBERS, template=st.sampled_from(TEMPLATES), joiner=st.sampled_from([".", ",", "/", "-", ""]),
       more=st.from_regex(r"[0-9]{1,8}", fullmatch=True))
def test_property_never_a_part_of_a_longer_number_or_a_date(n, template, joiner, more):
    assert invoice_numbers(template.format(n=f"{n}{joiner}{more}")) != [n]


@given(day=st.integers(1, 28), month=st.integers(1, 12), year=st.integers(2000, 2099),
       template=st.sampled_from(TEMPLATES))
def test_property_a_date_is_never_a_number(day, month, year, template):
    assert invoice_numbers(template.format(n=f"{day:02d}.{month:02d}.{year}")) == []


@given(account=st.from_regex(r"[1-9][0-9]{19}", fullmatch=True), template=st.sampled_from(TEMPLATES))
def test_property_an_account_is_never_a_number(account, template):
    assert invoice_numbers(template.format(n=account)) == []
