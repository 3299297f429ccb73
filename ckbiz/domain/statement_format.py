"""Reading a 1C «Клиент-банк» statement (1CClientBankExchange) and the invoice number in a
payment's purpose. Pure text work: no database, so the format's rules are tested alone.

The file is `key=value` lines: a header (`Кодировка`, `РасчСчет`, `ДатаНачала`, `ДатаКонца`),
`СекцияРасчСчет` … `КонецРасчСчет` with the balances, one `СекцияДокумент=<kind>` …
`КонецДокумента` per payment, and `КонецФайла`. Anything wrong stops the reading with a
`StatementError` that names the line, so a bad file never reaches the database.
"""
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _

SIGNATURE = "1CClientBankExchange"
UTF8_BOM = b"\xef\xbb\xbf"
# What `Кодировка=` may say, and the codec it means; UTF-8 is recognised by its bytes instead.
ENCODINGS = {"windows": "cp1251", "dos": "cp866"}
BARE_LINES = ("СекцияРасчСчет", "КонецРасчСчет", "КонецДокумента", "КонецФайла")
_AMOUNT = re.compile(r"\d{1,15}(?:[.,]\d{1,2})?", re.ASCII)
_DATE = re.compile(r"\d{2}\.\d{2}\.\d{4}", re.ASCII)


class StatementError(ValueError):
    """A file that cannot be read as a statement; the message says why and where, in Russian."""


@dataclass
class Document:
    """One payment of the statement, as the bank wrote it (amount in kopecks)."""

    line: int  # where its `СекцияДокумент` is, for messages
    kind: str  # «Платежное поручение», «Банковский ордер», …
    number: str
    date: date
    amount_kop: int
    payer_name: str
    payer_inn: str
    payer_account: str
    payee_account: str
    purpose: str
    payment_kind: str  # `ВидОплаты`: 01 платежное поручение, 17 банковский ордер, …


@dataclass
class Statement:
    """The whole file: its accounts, period, balances of the first account, and payments."""

    accounts: list = field(default_factory=list)
    date_from: date = None
    date_to: date = None
    opening_kop: int = None
    closing_kop: int = None
    documents: list = field(default_factory=list)


def decode(raw):
    """The file's text: UTF-8 when its bytes are, else the code page `Кодировка` names."""
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for codec in ENCODINGS.values():
        text = raw.decode(codec, errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            key, _sep, value = line.partition("=")
            if key.strip() == "Кодировка":
                declared = ENCODINGS.get(value.strip().lower())
                if declared != codec:
                    raise StatementError(_("Строка %(n)d: файл записан не в той кодировке, что указана "
                                           "в «%(line)s».", n=number, line=line.strip()))
                return text
    raise StatementError(_("Строка 1: не удалось определить кодировку файла: нет строки «Кодировка=Windows» "
                           "или «Кодировка=DOS», и это не UTF-8."))


def parse(raw):
    """Read the bytes of a statement file; StatementError names the line of the first problem."""
    lines = decode(raw).splitlines()
    if not lines or lines[0].strip() != SIGNATURE:
        raise StatementError(_("Строка 1: это не выписка 1С: файл должен начинаться строкой «%(s)s».", s=SIGNATURE))
    statement, section, start, values = Statement(), None, 0, {}
    for number, line in enumerate(lines[1:], 2):
        line = line.strip()
        if not line:
            continue
        if line == "КонецФайла":
            if section:
                raise _unclosed(section, start)
            return statement
        key, sep, value = line.partition("=")
        if key == "СекцияДокумент" or line == "СекцияРасчСчет":
            if section:
                raise _unclosed(section, start)
            section, start, values = (value.strip() or _("документ")) if sep else "РасчСчет", number, {}
        elif line == "КонецДокумента" and section not in (None, "РасчСчет"):
            statement.documents.append(_document(section, start, values))
            section = None
        elif line == "КонецРасчСчет" and section == "РасчСчет":
            _balances(statement, values)
            section = None
        elif line in BARE_LINES or not sep:
            if number == len(lines):
                raise StatementError(_("Строка %(n)d: файл оборван посреди строки «%(line)s».", n=number,
                                       line=line[:60]))
            raise StatementError(_("Строка %(n)d: неожиданная строка «%(line)s».", n=number, line=line[:60]))
        elif section:
            values[key.strip()] = (value.strip(), number)
        else:
            _header(statement, key.strip(), value.strip(), number)
    if section:
        raise _unclosed(section, start)
    raise StatementError(_("Строка %(n)d: файл оборван: нет строки «КонецФайла».", n=len(lines)))


def _unclosed(section, start):
    """The error for a section that never ended."""
    end = "КонецРасчСчет" if section == "РасчСчет" else "КонецДокумента"
    return StatementError(_("Строка %(n)d: файл оборван: раздел «%(s)s», начатый здесь, не закрыт строкой «%(end)s».",
                            n=start, s=section, end=end))


def _header(statement, key, value, number):
    """A header line: the accounts and the period; the rest (sender, versions) says nothing to us."""
    if key == "РасчСчет":
        statement.accounts.append(value)
    elif key in ("ДатаНачала", "ДатаКонца"):
        setattr(statement, "date_from" if key == "ДатаНачала" else "date_to", _date(value, number))


def _balances(statement, values):
    """The first account section's period and balances (the header may lack the period)."""
    if statement.opening_kop is not None:
        return
    for key, attr in (("НачальныйОстаток", "opening_kop"), ("КонечныйОстаток", "closing_kop")):
        if key in values:
            setattr(statement, attr, kopecks(*values[key]))
    for key, attr in (("ДатаНачала", "date_from"), ("ДатаКонца", "date_to")):
        if key in values and getattr(statement, attr) is None:
            setattr(statement, attr, _date(*values[key]))
    if "РасчСчет" in values and values["РасчСчет"][0] not in statement.accounts:
        statement.accounts.append(values["РасчСчет"][0])


def _document(kind, start, values):
    """One payment from its `key=value` lines; number, date and amount are required."""
    def text(*keys):
        return next((values[k][0] for k in keys if values.get(k, ("",))[0]), "")

    for key in ("Номер", "Дата", "Сумма"):
        if key not in values:
            raise StatementError(_("Строка %(n)d: в документе нет поля «%(key)s».", n=start, key=key))
    purpose = text("НазначениеПлатежа") or " ".join(text(f"НазначениеПлатежа{i}") for i in range(1, 7)).strip()
    return Document(
        line=start, kind=kind, number=values["Номер"][0], date=_date(*values["Дата"]),
        amount_kop=kopecks(*values["Сумма"]), payer_name=text("Плательщик1", "Плательщик"),
        payer_inn=text("ПлательщикИНН"), payer_account=text("ПлательщикСчет", "ПлательщикРасчСчет"),
        payee_account=text("ПолучательСчет", "ПолучательРасчСчет"), purpose=purpose,
        payment_kind=text("ВидОплаты"))


def kopecks(value, number):
    """`1500.00` (or `1500`, `1500,5`) in kopecks, through Decimal; anything else names its line."""
    if not _AMOUNT.fullmatch(value):
        raise StatementError(_("Строка %(n)d: неверная сумма «%(v)s».", n=number, v=value[:30]))
    return int(Decimal(value.replace(",", ".")) * 100)


def _date(value, number):
    """`27.11.2026` as a date; anything else names its line."""
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return datetime.strptime(value, "%d.%m.%Y").date()
    except ValueError:
        raise StatementError(_("Строка %(n)d: неверная дата «%(v)s».", n=number, v=value[:30])) from None


# The invoice number as people write it after «счет»: «по счету № 1024», «счет №1024»,
# «по счету N1024», «счет на оплату № 1024», «сч. 1024», «сч.№1024», «оплата по счету 1024».
# A bare «счет 123» without «№» or «по» is not taken: «ЛИЦ. СЧЕТ 34234234» and «расч. счет» are
# requisites, not invoices.
_MARK = r"(?:№|N|No\.?|#)"
_INVOICE_NUMBER = re.compile(
    rf"(?:\bсч[её]т\w*(?:\s+на\s+оплату)?\s*{_MARK}\s*"
    rf"|\bпо\s+сч[её]ту\s+(?:{_MARK}\s*)?"
    rf"|\bсч\b\.?\s*(?:{_MARK}\s*)?)"
    # Never a piece of something longer: digits on, or a point, comma, slash or dash followed by
    # a digit (a date 27.11.2026, an amount 1024,50, a number 1024/1 or 1024-2).
    r"([0-9]+)(?![.,/\-]?[0-9])",
    re.IGNORECASE)
MAX_NUMBER_DIGITS = 12  # invoice numbers are far shorter; a 20-digit run is an account


def invoice_numbers(purpose):
    """The distinct invoice numbers a payment's purpose names, in order of appearance."""
    found = []
    for match in _INVOICE_NUMBER.finditer(purpose or ""):
        digits = match.group(1)
        if len(digits) <= MAX_NUMBER_DIGITS and int(digits) > 0 and int(digits) not in found:
            found.append(int(digits))
    return found
