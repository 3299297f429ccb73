"""Automatic reminders (issue 19): the steps, what falls due when, the night hold, the SMS cap,
closed invoices, two workers at once, «Не напоминать», the settings page and `jobs run remind`."""
import threading
from datetime import datetime, timedelta

import pytest

from ckbiz.domain import lifecycle, reminders
from ckbiz.extensions import db
from ckbiz.models import AutoReminder, Delivery, Invoice, InvoiceEvent, Merchant
from conftest import csrf_token
from factories import make_invoice, other_merchant

pytestmark = pytest.mark.db
# 10:00 MSK on a weekday: far from the night on both sides.
MORNING_UTC = datetime(2026, 11, 30, 7, 0)


def step(app, merchant, kind="after_issue", hours=24, channels="email"):
    with app.app_context(), db.connection_context():
        return reminders.add_step(Merchant.get_by_id(merchant.id), kind, hours, channels)


def invoice_at(app, merchant, issued_at, hours=72, **values):
    """An issued invoice whose issue time is `issued_at` (naive UTC), before any step exists."""
    return make_invoice(app, merchant, hours=hours, issued_at=issued_at,
                        expires_at=issued_at + timedelta(hours=hours), **values)


def run(app, now):
    """The job at `now`: the deliveries it wrote as (channel, kind, recipient)."""
    with app.app_context(), db.connection_context():
        return [(r.channel, r.kind, r.recipient) for r in reminders.run_due(now)]


def events(app, invoice, kind):
    with app.app_context(), db.connection_context():
        return InvoiceEvent.select().where(InvoiceEvent.invoice == invoice.id, InvoiceEvent.kind == kind).count()


def test_an_after_issue_step_is_sent_once_when_due(app, merchant):
    invoice = invoice_at(app, merchant, MORNING_UTC, phone=None)
    step(app, merchant, "after_issue", 24, "email")
    assert run(app, MORNING_UTC + timedelta(hours=23, minutes=59)) == []
    assert run(app, MORNING_UTC + timedelta(hours=24)) == [("email", "reminder", "payer@example.com")]
    assert run(app, MORNING_UTC + timedelta(hours=25)) == []
    assert events(app, invoice, "auto_reminded") == 1


def test_a_before_expiry_step_and_steps_outside_the_validity(app, merchant):
    invoice_at(app, merchant, MORNING_UTC, hours=72, phone=None)
    step(app, merchant, "before_expiry", 24, "email")
    step(app, merchant, "before_expiry", 100, "email")  # before the issue: never
    step(app, merchant, "after_issue", 80, "email")      # after the expiry: never
    assert run(app, MORNING_UTC + timedelta(hours=47)) == []
    assert run(app, MORNING_UTC + timedelta(hours=48)) == [("email", "reminder", "payer@example.com")]
    assert run(app, MORNING_UTC + timedelta(hours=200)) == []


def test_sms_wait_for_the_morning_in_the_merchants_zone(app, merchant):
    # Issued at 20:00 MSK; a step two hours later falls at 22:00 MSK.
    issued = datetime(2026, 11, 30, 17, 0)
    invoice_at(app, merchant, issued, phone="9026376577")
    step(app, merchant, "after_issue", 2, "both")
    assert run(app, issued + timedelta(hours=2)) == [("email", "reminder", "payer@example.com")]
    assert run(app, datetime(2026, 12, 1, 5, 59)) == []           # 08:59 MSK
    assert run(app, datetime(2026, 12, 1, 6, 0)) == [("sms", "reminder", "9026376577")]  # 09:00 MSK


def test_a_job_that_runs_late_at_night_holds_the_sms_until_morning(app, merchant):
    invoice_at(app, merchant, MORNING_UTC, phone="9026376577", email=None)
    step(app, merchant, "after_issue", 8, "sms")  # due 18:00 MSK, but the worker was down until 23:00
    assert run(app, datetime(2026, 11, 30, 20, 0)) == []
    with app.app_context(), db.connection_context():
        assert AutoReminder.get().due_at == datetime(2026, 12, 1, 6, 0)
    assert run(app, datetime(2026, 12, 1, 6, 0)) == [("sms", "reminder", "9026376577")]


def test_an_sms_past_the_daily_cap_counts_as_done_with_an_event(app, merchant):
    app.config["SMS_DAILY_LIMIT"] = 1
    invoice = invoice_at(app, merchant, MORNING_UTC, phone="9026376577", email=None)  # its own SMS takes the cap
    step(app, merchant, "after_issue", 2, "sms")
    assert run(app, MORNING_UTC + timedelta(hours=2)) == []
    assert events(app, invoice, "sms_limit") == 1
    assert run(app, MORNING_UTC + timedelta(hours=3)) == []
    with app.app_context(), db.connection_context():
        assert AutoReminder.get().outcome == "sms_limit"


def test_only_issued_invoices_are_reminded(app, merchant):
    paid = invoice_at(app, merchant, MORNING_UTC, key="1", phone=None)
    cancelled = invoice_at(app, merchant, MORNING_UTC, key="2", phone=None)
    waiting = invoice_at(app, merchant, MORNING_UTC, key="3", phone=None, email="waiting@example.com")
    step(app, merchant, "after_issue", 5, "email")
    with app.app_context(), db.connection_context():
        lifecycle.mark_paid_other_way(paid, "")
        lifecycle.cancel(cancelled, "")
    assert run(app, MORNING_UTC + timedelta(hours=5)) == [("email", "reminder", "waiting@example.com")]
    with app.app_context(), db.connection_context():
        assert AutoReminder.select().where(AutoReminder.done_at.is_null()).count() == 0
        assert AutoReminder.select().where(AutoReminder.outcome == "skipped").count() == 2
    assert events(app, waiting, "auto_reminded") == 1


def test_two_workers_at_once_send_each_reminder_once(app, merchant):
    for key in range(30):
        invoice_at(app, merchant, MORNING_UTC, key=str(key), phone=None)
    step(app, merchant, "after_issue", 1, "email")
    barrier, sent = threading.Barrier(2), []

    def worker():
        with app.app_context(), db.connection_context():
            barrier.wait()
            sent.extend(r.id for r in reminders.run_due(MORNING_UTC + timedelta(hours=1)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == len(set(sent)) == 30
    with app.app_context(), db.connection_context():
        assert Delivery.select().where(Delivery.kind == "reminder").count() == 30


def test_a_repeated_invoice_gets_its_own_reminders(app, merchant):
    step(app, merchant, "after_issue", 1, "email")
    original = make_invoice(app, merchant, phone=None)
    with app.app_context(), db.connection_context():
        copy, _rows = lifecycle.repeat(original, "")
        assert AutoReminder.select().where(AutoReminder.invoice == copy.id).count() == 1
        assert AutoReminder.select().where(AutoReminder.invoice == original.id).count() == 1


def test_no_reminders_on_the_form_and_the_switch_in_the_invoice(app, logged_in, merchant):
    step(app, merchant, "after_issue", 1, "email")
    form = logged_in.get("/invoices/new").get_data(as_text=True)
    assert "Не напоминать автоматически" in form
    with app.app_context(), db.connection_context():
        service_id = merchant.services[0].id
    response = logged_in.post("/invoices", data={
        "csrf_token": csrf_token(logged_in, "/invoices/new"), "service": service_id, "payer_email": "p@example.com",
        "req-account": "77", "req-fio": "Ф", "validity_hours": "24", "amount": "10", "no_reminders": "y"})
    assert response.status_code == 303
    number = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context(), db.connection_context():
        invoice = Invoice.of(merchant).where(Invoice.number == number).get()
        assert invoice.auto_remind is False
        assert AutoReminder.select().where(AutoReminder.invoice == invoice.id).count() == 0
    page = logged_in.get(f"/invoices/{number}").get_data(as_text=True)
    assert "Автонапоминания: выключены" in page and "Напоминать автоматически" in page
    token = csrf_token(logged_in, f"/invoices/{number}")
    assert logged_in.post(f"/invoices/{number}/auto-remind", data={"csrf_token": token, "on": "1"}).status_code == 303
    with app.app_context(), db.connection_context():
        assert AutoReminder.select().where(AutoReminder.invoice == invoice.id).count() == 1
    assert logged_in.post(f"/invoices/{number}/auto-remind", data={"csrf_token": token, "on": "0"}).status_code == 303
    with app.app_context(), db.connection_context():
        assert AutoReminder.select().where(AutoReminder.invoice == invoice.id).count() == 0
    html = logged_in.get(f"/invoices/{number}").get_data(as_text=True)
    assert "автоматические напоминания включены" in html and "автоматические напоминания выключены" in html


def test_settings_add_three_steps_at_most_and_remove_one(app, logged_in, merchant):
    page = logged_in.get("/settings/reminders").get_data(as_text=True)
    assert "Напоминания" in page and "Добавить напоминание" in page
    for hours, kind, channels in (("24", "before_expiry", "both"), ("2", "after_issue", "email"),
                                  ("48", "after_issue", "sms")):
        token = csrf_token(logged_in, "/settings/reminders")
        response = logged_in.post("/settings/reminders", data={"csrf_token": token, "hours": hours, "kind": kind,
                                                               "channels": channels})
        assert response.status_code == 303
    page = logged_in.get("/settings/reminders").get_data(as_text=True)
    assert "за 24 ч до окончания срока" in page and "эл. почта и СМС" in page
    assert "через 48 ч после выставления" in page
    assert "Напоминаний может быть не больше трех." in page
    with app.app_context(), db.connection_context():
        with pytest.raises(reminders.StepError):
            reminders.add_step(Merchant.get_by_id(merchant.id), "after_issue", 3, "email")
        first = reminders.steps_of(merchant)[0]
    token = csrf_token(logged_in, "/settings/reminders")
    assert logged_in.post(f"/settings/reminders/{first.id}/delete", data={"csrf_token": token}).status_code == 303
    assert "за 24 ч до окончания срока" not in logged_in.get("/settings/reminders").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"hours": "0", "kind": "after_issue", "channels": "email"}, "От 1 до"),
    ({"hours": "abc", "kind": "after_issue", "channels": "email"}, "Неверное целое число"),
    ({"hours": "5", "kind": "sometime", "channels": "email"}, "Выберите значение из списка"),
    ({"hours": "5", "kind": "after_issue", "channels": "pigeon"}, "Выберите значение из списка"),
])
def test_a_bad_step_is_refused_with_a_message(app, logged_in, merchant, data, message):
    token = csrf_token(logged_in, "/settings/reminders")
    response = logged_in.post("/settings/reminders", data={"csrf_token": token, **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert reminders.steps_of(merchant) == []


def test_another_merchants_step_cannot_be_removed(app, client, auth, merchant):
    other_step = step(app, merchant)
    other_merchant(app)
    assert auth.login("9037778899", "other password").status_code == 303
    token = csrf_token(client, "/settings/reminders")
    assert client.post(f"/settings/reminders/{other_step.id}/delete", data={"csrf_token": token}).status_code == 404
    with app.app_context(), db.connection_context():
        assert len(reminders.steps_of(merchant)) == 1


def test_jobs_run_remind_with_now(app, runner, merchant):
    invoice_at(app, merchant, MORNING_UTC, phone=None)
    step(app, merchant, "after_issue", 3, "email")
    result = runner.invoke(args=["jobs", "run", "remind", "--now", "2026-11-30T12:59:00+03:00"])
    assert result.exit_code == 0 and "remind: 0" in result.output
    result = runner.invoke(args=["jobs", "run", "remind", "--now", "2026-11-30T10:00"])
    assert result.exit_code == 0 and "remind: 1" in result.output
    result = runner.invoke(args=["jobs", "run", "sweep", "--now", "2026-11-30T10:00"])
    assert result.exit_code != 0 and "--now: only for expire, settle, remind" in result.output
