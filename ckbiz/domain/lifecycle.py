"""An invoice's life (§6.1, §6.2): its statuses and their labels, the one rule of what
can still be paid, and the transitions of DESIGN.md, each atomic and recorded."""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import Value

from ..database import is_sqlite, utcnow
from ..extensions import db
from ..models import Invoice, InvoiceEvent
from . import invoicing, outbox

STATUSES = ("issued", "paid", "transferred", "expired", "cancelled")
STATUS_LABELS = {
    "issued": _l("выставлен"), "paid": _l("оплачен"), "transferred": _l("проведен"),
    "expired": _l("истек"), "cancelled": _l("отменен"),
}
# How a paid invoice was paid, when not by card: «Оплачен (другим способом)», «Оплачен (переводом)».
PAID_BY_LABELS = {"other": _l("другим способом"), "transfer": _l("переводом")}
TRANSFER_PAYS = ("issued", "expired")  # the statuses a bank transfer moves to paid
REFUSALS = {
    "cancel": _l("Отменить можно только выставленный счет: этот счет %(status)s."),
    "mark_paid": _l("Отметить оплаченным можно выставленный или истекший счет: этот счет %(status)s."),
    "remind": _l("Напомнить можно только о выставленном, еще не истекшем счете: этот счет %(status)s."),
    "send": _l("Отправить можно только выставленный, еще не истекший счет: этот счет %(status)s."),
}


class TransitionRefused(Exception):
    """An action the invoice's status does not allow; the message says why, in Russian."""


def payable(invoice, now=None):
    """Only an issued invoice whose time has not run out can be paid, reminded or sent.

    The time is checked as well as the status: the expiry job runs once a minute.
    """
    return invoice.status == "issued" and invoice.expires_at > (now or utcnow())


def _refuse(action, invoice):
    """Raise the refusal for this action with the invoice's current status."""
    current = Invoice.get_by_id(invoice.id)
    label = STATUS_LABELS[current.status]
    if current.status == "issued":
        label = _("истек (срок оплаты прошел)")
    raise TransitionRefused(str(REFUSALS[action]) % {"status": label})


def _move(invoice, allowed, action, event, actor, note="", **changes):
    """Change the status only if it is still one of `allowed` (a conditional UPDATE); returns the
    outbox rows it wrote (the webhook event of the new status)."""
    now = utcnow()
    with db.atomic():
        moved = (Invoice.update(status_changed_at=now, status_changed_by=actor, **changes)
                 .where(Invoice.id == invoice.id, Invoice.status.in_(allowed)).execute())
        if not moved:
            _refuse(action, invoice)
        InvoiceEvent.create(invoice=invoice.id, kind=event, at=now, note=note, actor=actor)
        return outbox.webhook(invoice.merchant_id, invoice.id, f"invoice.{changes['status']}")


def cancel(invoice, actor):
    """«Отменить»: issued → cancelled; `actor` is who did it, as events name them. Returns the outbox rows."""
    return _move(invoice, ("issued",), "cancel", "cancelled", actor, status="cancelled")


def mark_paid_other_way(invoice, actor):
    """«Оплачен другим способом»: issued or expired → paid (never becomes «Проведен»); returns the outbox rows."""
    return _move(invoice, ("issued", "expired"), "mark_paid", "paid", actor, note=str(PAID_BY_LABELS["other"]),
                 status="paid", paid_by="other", paid_at=utcnow())


def mark_paid_by_transfer(invoice, actor, order):
    """A payment order the merchant confirmed pays it: issued or expired → paid by transfer.

    `order` names the payment order in the event (№, date, payer and ИНН). Returns the outbox rows.
    """
    return _move(invoice, TRANSFER_PAYS, "mark_paid", "paid", actor, note=_transfer_note(order),
                 status="paid", paid_by="transfer", paid_at=utcnow())


def pay_by_transfers(orders, actor, chunk=500):
    """A bank statement pays many invoices at once: {invoice id: its payment order}; returns the
    ids it moved (the others were no longer issued or expired: paid or cancelled meanwhile).

    Set-based like the expiry job, and conditional like every move: two imports at once, or a
    statement and a merchant's click, never pay an invoice twice.
    """
    now, moved = utcnow(), []
    ids = sorted(orders)
    for start in range(0, len(ids), chunk):
        query = (Invoice.update(status="paid", paid_by="transfer", paid_at=now, status_changed_at=now,
                                status_changed_by=actor)
                 .where(Invoice.id.in_(ids[start:start + chunk]), Invoice.status.in_(TRANSFER_PAYS))
                 .returning(Invoice.id))
        moved += [row.id for row in query.execute()]
    events = [{"invoice": i, "kind": "paid", "at": now, "note": _transfer_note(orders[i]), "actor": actor}
              for i in moved]
    for start in range(0, len(events), chunk):
        InvoiceEvent.insert_many(events[start:start + chunk]).execute()
        outbox.webhooks_where(Invoice.id.in_(moved[start:start + chunk]), "invoice.paid", now)
    return set(moved)


def _transfer_note(order):
    """The «paid» event's note of a transfer: «переводом: платежное поручение № 77 от …»."""
    return f"{PAID_BY_LABELS['transfer']}: {order}"


def _still_payable(invoice, action):
    """The invoice as it is now; refused unless it can still be paid."""
    current = Invoice.get_by_id(invoice.id)
    if not payable(current):
        _refuse(action, invoice)
    return current


def _within_hourly_cap(invoice, kind, refusal):
    """Refused with `refusal` once the merchant did `kind` INVOICE_SENDS_PER_HOUR times on this
    invoice in the last hour (counted from its events; automatic reminders are another kind)."""
    since = utcnow() - timedelta(hours=1)
    done = (InvoiceEvent.select()
            .where(InvoiceEvent.invoice == invoice.id, InvoiceEvent.kind == kind, InvoiceEvent.at > since).count())
    if done >= int(current_app.config["INVOICE_SENDS_PER_HOUR"]):
        raise TransitionRefused(refusal % {"n": invoice.number, "cap": done})


def remind(invoice, actor):
    """«Напомнить»: resend to the payer (e-mail, and SMS when there is a phone); returns the rows."""
    with db.atomic():
        current = _still_payable(invoice, "remind")
        _within_hourly_cap(invoice, "reminded", _("По счету № %(n)s уже напоминали %(cap)d раз за последний "
                                                 "час. Следующее напоминание — позже."))
        rows = outbox.for_payer(current, "reminder")
        InvoiceEvent.create(invoice=invoice.id, kind="reminded", actor=actor)
    return rows


def send_to(invoice, email, actor):
    """«Отправить» (§6.3.1): the invoice to another e-mail address; returns the rows."""
    with db.atomic():
        _still_payable(invoice, "send")
        _within_hourly_cap(invoice, "sent_to", _("Счет № %(n)s уже отправляли %(cap)d раз за последний час. "
                                                "Отправьте позже."))
        row = outbox.add(invoice.merchant_id, invoice.id, "email", "sent_to", email)
        InvoiceEvent.create(invoice=invoice.id, kind="sent_to", note=email, actor=actor)
    return [row]


def repeat(invoice, actor):
    """«Повторить инвойс» (§6.3.2): a new issued invoice like this one, with a fresh validity.

    Returns (the new invoice, its outbox rows).
    """
    merchant = invoice.merchant
    hours = merchant.default_validity_hours or current_app.config["DEFAULT_VALIDITY_HOURS"]
    with db.atomic():
        new, rows = invoicing.issue_invoice(
            merchant, invoice.service, payer_phone=invoice.payer_phone, payer_email=invoice.payer_email,
            requisites=invoice.requisites, comment=invoice.comment, amount_kop=invoice.amount_kop,
            positions=invoice.positions, payer_org=invoice.payer_org, validity_hours=hours,
            repeat_of=invoice, actor=actor, auto_remind=invoice.auto_remind)
        InvoiceEvent.create(invoice=invoice.id, kind="repeated", note=f"№ {new.number}", actor=actor)
    return new, rows


def expire_overdue(now=None):
    """Expire every issued invoice whose time has passed, in one conditional UPDATE.

    Safe to run twice at once (the second UPDATE finds nothing) and after the
    consumer was down for hours (everything overdue goes, not just this minute's).
    """
    return bulk_move((Invoice.status == "issued") & (Invoice.expires_at <= (now or utcnow())), "expired")


def bulk_move(condition, status):
    """Set-based status change with one event, and one webhook event where the merchant has a
    webhook, per moved invoice; returns how many moved.

    No invoice passes through Python: a hundred thousand overdue invoices expire in a few
    statements, not a hundred thousand parameters.
    """
    now, hook = utcnow(), f"invoice.{status}"
    move = Invoice.update(status=status, status_changed_at=now, status_changed_by="").where(condition)
    with db.atomic():
        if is_sqlite(db):
            # The transaction holds SQLite's write lock from its start (IMMEDIATE), so
            # nobody changes a status between choosing the rows and moving them.
            InvoiceEvent.insert_from(
                Invoice.select(Invoice.id, Value(status), Value(now), Value("")).where(condition),
                fields=[InvoiceEvent.invoice, InvoiceEvent.kind, InvoiceEvent.at, InvoiceEvent.note]).execute()
            outbox.webhooks_where(condition, hook, now)
            return move.execute()
        # PostgreSQL: one statement, so a concurrent run's UPDATE waits on the row locks
        # and then finds the rows moved; events are written for exactly the rows moved.
        sql, params = move.returning(Invoice.id, Invoice.merchant).sql()
        defaults = outbox.WEBHOOK_DEFAULTS
        cursor = db.execute_sql(
            f"WITH moved AS ({sql}), "
            "events AS (INSERT INTO invoice_event (invoice_id, kind, at, note) SELECT id, %s, %s, '' FROM moved), "
            f"hooks AS (INSERT INTO delivery (merchant_id, invoice_id, kind, recipient, message_id, lease_until, "
            f"created_at, {', '.join(defaults)}) "
            f"SELECT moved.merchant_id, moved.id, %s, webhook.url, {outbox.event_id_sql()}, %s, %s, "
            f"{', '.join(['%s'] * len(defaults))} FROM moved JOIN webhook ON webhook.merchant_id = moved.merchant_id) "
            "SELECT count(*) FROM moved", [*params, status, now, hook, now, now, *defaults.values()])
        return cursor.fetchone()[0]
