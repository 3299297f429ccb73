"""Automatic reminders: a merchant's steps («за N часов до окончания срока», «через N часов после
выставления»), the reminders they make due on each invoice, and the job that sends what is due.

Each invoice's reminders are rows written when it is issued (or when the steps or its «Не
напоминать» change), one per step and channel, with the moment they are due. The job claims due
rows with one conditional UPDATE, so two workers running it at once never send a step twice.
SMS are not sent between 21:00 and 09:00 in the merchant's zone: they are due at 09:00 instead.
"""
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..database import utcnow
from ..extensions import db
from ..models import AutoReminder, Invoice, InvoiceEvent, Merchant, ReminderStep
from . import outbox
from .accounts import lock
from .clock import local, zone

KINDS = {"before_expiry": _l("за N часов до окончания срока"), "after_issue": _l("через N часов после выставления")}
CHANNELS = {"email": _l("эл. почта"), "sms": _l("СМС"), "both": _l("эл. почта и СМС")}
MAX_STEPS = 3
MORNING, NIGHT = time(9), time(21)
BATCH = 500  # due reminders claimed per transaction


class StepError(ValueError):
    """A step that cannot be added; the message says why, in Russian."""


def steps_of(merchant):
    """The merchant's steps in the order they were added."""
    return list(ReminderStep.select().where(ReminderStep.merchant == merchant).order_by(ReminderStep.id))


def add_step(merchant, kind, hours, channels):
    """Add a step and make it due on the merchant's invoices still waiting for payment."""
    if kind not in KINDS or channels not in CHANNELS:
        raise StepError(_l("Выберите значение из списка"))
    maximum = int(current_app.config["MAX_VALIDITY_HOURS"])
    if not isinstance(hours, int) or not 1 <= hours <= maximum:
        raise StepError(_l("От 1 до %(max)d часов", max=maximum))
    with db.atomic():
        lock(merchant)  # two owners adding at once stay within three
        if ReminderStep.select().where(ReminderStep.merchant == merchant).count() >= MAX_STEPS:
            raise StepError(_l("Не больше трех напоминаний"))
        step = ReminderStep.create(merchant=merchant, kind=kind, hours=hours, channels=channels)
        waiting = Invoice.of(merchant).where(Invoice.status == "issued", Invoice.auto_remind == True)  # noqa: E712
        for chunk in _chunks(waiting.select(Invoice.id, Invoice.issued_at, Invoice.expires_at).iterator()):
            _insert([row for invoice in chunk for row in _due(step, invoice, merchant.timezone)])
    return step


def remove_step(merchant, step_id):
    """Delete one of the merchant's steps with its reminders not yet sent; False if not the merchant's."""
    with db.atomic():
        AutoReminder.delete().where(AutoReminder.step == step_id, AutoReminder.done_at.is_null(),
                                    AutoReminder.step.in_(ReminderStep.select(ReminderStep.id).where(
                                        ReminderStep.merchant == merchant))).execute()
        return bool(ReminderStep.delete().where(ReminderStep.id == step_id,
                                                ReminderStep.merchant == merchant).execute())


def schedule(invoice, steps, tz_name):
    """Write an invoice's reminders for the steps (in the issuing transaction)."""
    _insert([row for step in steps for row in _due(step, invoice, tz_name)])


def set_auto(invoice, on, actor):
    """«Напоминать автоматически» / «Не напоминать» on one invoice, with its event."""
    with db.atomic():
        Invoice.update(auto_remind=on).where(Invoice.id == invoice.id).execute()
        if on:
            merchant = invoice.merchant
            schedule(invoice, steps_of(merchant), merchant.timezone)
        else:
            AutoReminder.delete().where(AutoReminder.invoice == invoice.id, AutoReminder.done_at.is_null()).execute()
        InvoiceEvent.create(invoice=invoice.id, kind="auto_remind_on" if on else "auto_remind_off", actor=actor)


def _due(step, invoice, tz_name):
    """The rows of one step on one invoice: nothing when its moment falls outside the validity."""
    hours = timedelta(hours=step.hours)
    moment = invoice.expires_at - hours if step.kind == "before_expiry" else invoice.issued_at + hours
    if not invoice.issued_at < moment < invoice.expires_at:
        return []
    rows = []
    for channel in ("email", "sms") if step.channels == "both" else (step.channels,):
        due = daytime(moment, tz_name) if channel == "sms" else moment
        if due < invoice.expires_at:
            rows.append({"invoice": invoice.id, "step": step.id, "channel": channel, "due_at": due})
    return rows


def daytime(moment, tz_name):
    """The moment, or 09:00 after it when it falls at night (21:00–09:00) in the zone; naive UTC."""
    here = local(moment, tz_name)
    if MORNING <= here.time() < NIGHT:
        return moment
    day = here.date() + timedelta(days=1 if here.time() >= NIGHT else 0)
    morning = datetime.combine(day, MORNING, tzinfo=zone(tz_name))
    return morning.astimezone(UTC).replace(tzinfo=None)


def _insert(rows):
    for chunk in _chunks(rows):
        AutoReminder.insert_many(chunk).on_conflict_ignore().execute()


def _chunks(items, size=BATCH):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_due(now=None):
    """Send the reminders due by `now`; returns the outbox rows written (queue them after commit).

    Reminders of invoices no longer waiting for payment are closed as skipped; an SMS due in the
    merchant's night moves to the morning; every other due row is claimed once and sent.
    """
    now = now or utcnow()
    rows = []
    while True:
        with db.atomic():
            _skip_closed(now)
            due = list(AutoReminder.select(AutoReminder, Invoice, Merchant)
                       .join(Invoice).join(Merchant)
                       .where(AutoReminder.done_at.is_null(), AutoReminder.due_at <= now)
                       .order_by(AutoReminder.due_at).limit(BATCH))
            rows += _send(_claim(_hold_night_sms(due, now), now), now)
        if len(due) < BATCH:
            return rows


def _skip_closed(now):
    closed = Invoice.select(Invoice.id).where((Invoice.status != "issued") | (Invoice.auto_remind == False)  # noqa: E712
                                              | (Invoice.expires_at <= now))
    AutoReminder.update(done_at=now, outcome="skipped").where(
        AutoReminder.done_at.is_null(), AutoReminder.due_at <= now, AutoReminder.invoice.in_(closed)).execute()


def _hold_night_sms(due, now):
    """The due rows to send now; SMS due at night in their merchant's zone wait for 09:00."""
    ready = []
    for reminder in due:
        morning = daytime(now, reminder.invoice.merchant.timezone)
        if reminder.channel == "sms" and morning > now:
            AutoReminder.update(due_at=morning).where(AutoReminder.id == reminder.id).execute()
        else:
            ready.append(reminder)
    return ready


def _claim(due, now):
    """The rows this run took: another worker's UPDATE of the same rows finds them done."""
    if not due:
        return []
    taken = {r.id for r in AutoReminder.update(done_at=now, outcome="sent").where(
        AutoReminder.id.in_([r.id for r in due]), AutoReminder.done_at.is_null()).returning(AutoReminder.id).execute()}
    return [r for r in due if r.id in taken]


def _send(claimed, now):
    """One message per claimed row, one event per invoice; an SMS past the daily cap is an event."""
    rows, noted = [], set()
    for reminder in claimed:
        invoice = reminder.invoice
        address = invoice.payer_email if reminder.channel == "email" else invoice.payer_phone
        if not address:
            AutoReminder.update(outcome="skipped").where(AutoReminder.id == reminder.id).execute()
            continue
        if reminder.channel == "sms" and outbox.sms_cap_reached(invoice.merchant_id):
            AutoReminder.update(outcome="sms_limit").where(AutoReminder.id == reminder.id).execute()
            InvoiceEvent.create(invoice=invoice.id, kind="sms_limit", at=now, note=invoice.payer_phone)
            continue
        rows.append(outbox.add(invoice.merchant_id, invoice.id, reminder.channel, "reminder", address))
        if invoice.id not in noted:
            noted.add(invoice.id)
            InvoiceEvent.create(invoice=invoice.id, kind="auto_reminded", at=now)
    return rows
