"""Bank statements: a 1C «Клиент-банк» file pays the invoices its transfers name.

Each payment of the file becomes a line with an outcome:
- ignored: not incoming to one of the merchant's payee accounts (outgoing, someone else's),
  a transfer between the merchant's own accounts, the bank's own orders (a «Банковский ордер»
  or «Мемориальный ордер» section, or `ВидОплаты` 09 or 17: interest, fees, and the bank's
  corrections carry no invoice of ours), and the operator's settlement transfers
  (`ПлательщикИНН` = OPERATOR_INN: lump sums of card payments, never one invoice);
- paid: the purpose names one of the merchant's invoices, the amount is exact and the invoice
  is «Выставлен» or «Истек»: it becomes «Оплачен (переводом)», through domain.lifecycle;
- suggested: the number with another amount, the amount alone (exactly one issued invoice
  has it), or an invoice already paid or cancelled: the merchant confirms or rejects;
- unmatched: the rest, matched by hand to an invoice number.

A payment is known by (merchant, date, number, amount, payer account): a statement imported
again, or overlapping an earlier one, adds nothing. Imports of one merchant take turns (its
row is locked on PostgreSQL; SQLite writes one at a time), and every payment is a conditional
UPDATE, so nothing is paid twice. No notices are sent: the merchant is the one importing.
"""
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from peewee import JOIN, fn

from ..database import utcnow
from ..extensions import db
from ..models import Invoice, Organisation, Statement, StatementLine
from . import lifecycle
from .accounts import lock
from .statement_format import StatementError, invoice_numbers, parse

OUTCOMES = ("paid", "suggested", "unmatched", "ignored")
BANK_ORDER_KINDS = ("банковский ордер", "мемориальный ордер")
BANK_ORDER_PAYMENT_KINDS = ("09", "9", "17")
CHUNK = 500  # rows or parameters per statement, well inside every database's limits


class MatchRefused(Exception):
    """A decision on a line that cannot be made; the message says why, in Russian."""


@dataclass
class Imported:
    """What an import did: its statement (None when every line was known already) and counts."""

    statement: Statement = None
    paid: int = 0
    suggested: int = 0
    unmatched: int = 0
    ignored: int = 0
    known: int = 0


def import_statement(merchant, raw, file_name="", actor="", user=None):
    """Read the file and apply it in one transaction; a bad file (StatementError) writes nothing."""
    limit = int(current_app.config["STATEMENT_MAX_BYTES"])
    if len(raw) > limit:
        raise StatementError(too_large(limit))
    parsed = parse(raw)
    accounts = {account for account, in Organisation.select(Organisation.account)
                .where(Organisation.merchant == merchant).tuples()}
    with db.atomic():
        # Imports of one merchant take turns, so the second one sees the first one's lines as known.
        lock(merchant)
        fresh, known = _fresh(merchant, parsed.documents)
        if not fresh:
            return Imported(known=known)
        rows = _decide_all(merchant, fresh, accounts, actor)
        counts = {outcome: sum(row["outcome"] == outcome for row in rows) for outcome in OUTCOMES}
        account = next((a for a in parsed.accounts if a in accounts), parsed.accounts[0] if parsed.accounts else "")
        statement = Statement.create(
            merchant=merchant, uploaded_by=user, actor=actor, file_name=file_name[:255], account=account[:20],
            date_from=parsed.date_from, date_to=parsed.date_to, opening_kop=parsed.opening_kop,
            closing_kop=parsed.closing_kop, known_count=known, **{f"{o}_count": n for o, n in counts.items()})
        for start in range(0, len(rows), CHUNK):
            StatementLine.insert_many([{**row, "statement": statement.id} for row in rows[start:start + CHUNK]]).execute()
    return Imported(statement, known=known, **counts)


def too_large(limit):
    """What a file over STATEMENT_MAX_BYTES is told (its size is unknown: nobody reads past the limit)."""
    return _("Файл больше допустимого: можно не больше %(limit)d байт.", limit=limit)


def _key(merchant_id, date, number, amount_kop, payer_account):
    """How a payment is known (the unique index of statement_line)."""
    return (merchant_id, date, number[:32], amount_kop, payer_account[:20])


def _fresh(merchant, documents):
    """The documents no earlier import brought (nor an earlier line of this file), and how many were."""
    if not documents:
        return [], 0
    dates = [d.date for d in documents]
    seen = {_key(merchant.id, *row) for row in StatementLine.select(
        StatementLine.date, StatementLine.number, StatementLine.amount_kop, StatementLine.payer_account)
        .where(StatementLine.merchant == merchant, StatementLine.date.between(min(dates), max(dates))).tuples()}
    fresh = []
    for doc in documents:
        key = _key(merchant.id, doc.date, doc.number, doc.amount_kop, doc.payer_account)
        if key not in seen:
            seen.add(key)
            fresh.append(doc)
    return fresh, len(documents) - len(fresh)


def _ignored(doc, accounts):
    """Why a payment is none of the invoices' business, or None for an incoming one."""
    if doc.payee_account not in accounts:
        return _("исходящий платеж") if doc.payer_account in accounts else _("платеж не на счет получателя")
    if doc.payer_account in accounts:
        return _("перевод между своими счетами")
    if doc.kind.lower() in BANK_ORDER_KINDS or doc.payment_kind in BANK_ORDER_PAYMENT_KINDS:
        return _("ордер банка")
    operator_inn = str(current_app.config.get("OPERATOR_INN") or "")
    if operator_inn and doc.payer_inn == operator_inn:
        return _("перевод оператора (расчеты по картам)")
    return None


def _decide_all(merchant, documents, accounts, actor):
    """Each document as a row of statement_line; the invoices they pay are paid in one go."""
    incoming, rows = [], []
    for doc in documents:
        reason = _ignored(doc, accounts)
        if reason:
            rows.append(_row(merchant, doc, None, "ignored", reason))
        else:
            incoming.append(doc)
    numbers = {doc.line: invoice_numbers(doc.purpose) for doc in incoming}
    by_number = _invoices_by_number(merchant, {n[0] for n in numbers.values() if len(n) == 1})
    found = {doc.line: numbers[doc.line][0] if len(numbers[doc.line]) == 1 else None for doc in incoming}
    by_amount = _only_issued_with_amount(
        merchant, {doc.amount_kop for doc in incoming if found[doc.line] not in by_number})
    paying = {}  # invoice id: (its row, the payment order), the first line that pays it
    for doc in incoming:
        invoice = by_number.get(found[doc.line])
        if invoice is not None:
            row = _by_invoice(merchant, doc, found[doc.line], invoice)
            if row["outcome"] == "paid":
                if invoice.id in paying:
                    row.update(outcome="suggested", reason=_("счет уже оплачен"))
                else:
                    paying[invoice.id] = (row, order_text(doc))
        elif doc.amount_kop in by_amount:
            row = _row(merchant, doc, found[doc.line], "suggested", _("совпадает только сумма"),
                       by_amount[doc.amount_kop])
        else:
            row = _row(merchant, doc, found[doc.line], "unmatched", _unmatched_reason(found[doc.line],
                                                                                      numbers[doc.line]))
        rows.append(row)
    paid = lifecycle.pay_by_transfers({invoice_id: order for invoice_id, (row, order) in paying.items()}, actor)
    for invoice_id, (row, _order) in paying.items():
        if invoice_id not in paid:  # paid or cancelled a moment ago, by a click or another import
            row.update(outcome="suggested", reason=_("счет уже оплачен"))
    return rows


def _unmatched_reason(number, numbers):
    """Why nothing matched: the number is not ours, the purpose names several, or none."""
    if number:
        return _("счет № %(n)s не найден", n=number)
    return _("в назначении несколько номеров счетов") if numbers else _("в назначении нет номера счета")


def _by_invoice(merchant, doc, number, invoice):
    """The row of a payment whose purpose names one of the merchant's invoices ("paid" until the
    conditional UPDATE says otherwise)."""
    if invoice.status == "cancelled":
        return _row(merchant, doc, number, "suggested", _("счет отменен"), invoice.id)
    if invoice.status not in lifecycle.TRANSFER_PAYS:
        return _row(merchant, doc, number, "suggested", _("счет уже оплачен"), invoice.id)
    if invoice.amount_kop != doc.amount_kop:
        return _row(merchant, doc, number, "suggested", _("сумма не совпадает со счетом"), invoice.id)
    return _row(merchant, doc, number, "paid", "", invoice.id)


def _row(merchant, doc, number, outcome, reason, invoice_id=None):
    """The statement_line values of a document."""
    return {"merchant": merchant.id, "line_no": doc.line, "date": doc.date, "number": doc.number[:32],
            "amount_kop": doc.amount_kop, "payer_name": doc.payer_name[:255], "payer_inn": doc.payer_inn[:12],
            "payer_account": doc.payer_account[:20], "purpose": doc.purpose, "found_number": number,
            "outcome": outcome, "reason": reason, "invoice": invoice_id}


def order_text(line):
    """How an event names the payment order: «платежное поручение № 77 от 27.11.2026, ООО «Ромашка», ИНН …».

    A document of the file knows its kind; a stored line (confirmed later) was a payment order.
    """
    kind = getattr(line, "kind", "") or _("платежное поручение")
    text = _("%(kind)s № %(n)s от %(date)s", kind=kind.lower(), n=line.number, date=line.date.strftime("%d.%m.%Y"))
    if line.payer_name:
        text += f", {line.payer_name}"
    if line.payer_inn:
        text += ", " + _("ИНН %(inn)s", inn=line.payer_inn)
    return text


def _chunks(values):
    """The values in lists short enough for one IN (…)."""
    values = sorted(values)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _invoices_by_number(merchant, numbers):
    """The merchant's invoices with these numbers, by number: one query per CHUNK numbers."""
    found = {}
    for chunk in _chunks(numbers):
        query = Invoice.of(merchant).where(Invoice.number.in_(chunk)).select(
            Invoice.id, Invoice.number, Invoice.amount_kop, Invoice.status)
        found.update((invoice.number, invoice) for invoice in query)
    return found


def _only_issued_with_amount(merchant, amounts):
    """{amount: invoice id} for the amounts exactly one issued invoice of the merchant has.

    No index leads by amount, so this reads the merchant's issued invoices once: with the amounts
    as a filter when they are few, else all of them grouped, filtered here.
    """
    if not amounts:
        return {}
    query = Invoice.of(merchant).where(Invoice.status == "issued")
    if len(amounts) <= CHUNK:
        query = query.where(Invoice.amount_kop.in_(sorted(amounts)))
    query = (query.select(Invoice.amount_kop, fn.MIN(Invoice.id)).group_by(Invoice.amount_kop)
             .having(fn.COUNT(Invoice.id) == 1).tuples())
    return {amount: invoice_id for amount, invoice_id in query if amount in amounts}


def get_line(merchant, statement_id, line_id):
    """A line of one of the merchant's statements, or None for anyone else's."""
    return (StatementLine.select().join(Statement)
            .where(Statement.merchant == merchant, Statement.id == statement_id, StatementLine.id == line_id).first())


def _decide(line, before, after, actor, **changes):
    """Move a line's outcome only if it is still `before`, keeping its statement's counts."""
    moved = (StatementLine.update(outcome=after, decided_at=utcnow(), decided_by=actor, **changes)
             .where(StatementLine.id == line.id, StatementLine.outcome == before).execute())
    if not moved:
        raise MatchRefused(_("Эта строка выписки уже разобрана."))
    count = {o: getattr(Statement, f"{o}_count") for o in (before, after)}
    Statement.update({count[before]: count[before] - 1, count[after]: count[after] + 1}).where(
        Statement.id == line.statement_id).execute()


def confirm(line, actor):
    """«Подтвердить» a suggestion: its invoice becomes paid by transfer (lifecycle refuses a paid
    or cancelled one, and the suggestion stays). Returns the outbox rows."""
    with db.atomic():
        _decide(line, "suggested", "paid", actor)
        return lifecycle.mark_paid_by_transfer(Invoice.get_by_id(line.invoice_id), actor, order_text(line))


def reject(line, actor):
    """«Отклонить» a suggestion: the line is unmatched, for a match by hand."""
    with db.atomic():
        _decide(line, "suggested", "unmatched", actor, invoice=None, reason=_("предложение отклонено"))


def match(merchant, line, number, actor):
    """«Сопоставить» an unmatched line with the merchant's invoice of this number, which it pays;
    returns the outbox rows."""
    invoice = Invoice.of(merchant).where(Invoice.number == number).first()
    if invoice is None:
        raise MatchRefused(_("Счета № %(n)s нет.", n=number))
    with db.atomic():
        _decide(line, "unmatched", "paid", actor, invoice=invoice.id, reason=_("сопоставлено вручную"))
        return lifecycle.mark_paid_by_transfer(invoice, actor, order_text(line))


def lines_by_outcome(statement):
    """The statement's paid, suggested and unmatched lines with their invoices, in the file's order
    (the ignored ones are only counted)."""
    lines = {outcome: [] for outcome in OUTCOMES if outcome != "ignored"}
    query = (StatementLine.select(StatementLine, Invoice.number.alias("invoice_number"), Invoice.amount_kop.alias(
        "invoice_amount_kop"), Invoice.status.alias("invoice_status"))
        .join(Invoice, JOIN.LEFT_OUTER, on=(StatementLine.invoice == Invoice.id))
        .where(StatementLine.statement == statement, StatementLine.outcome != "ignored")
        .order_by(StatementLine.line_no).objects())
    for line in query:
        lines[line.outcome].append(line)
    return lines
