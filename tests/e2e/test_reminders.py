"""Automatic reminders in Chromium (issue 19): a step set in «Настройки» → «Напоминания»
reminds the payer of a new invoice when due, and «Не напоминать» switches one invoice off.

Runs as the second demo merchant (9000000001), whose settings these tests may change."""
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from .conftest import issue, text_of, unique_email, unique_key

pytestmark = pytest.mark.e2e


def test_a_step_reminds_the_payer_and_one_invoice_can_be_left_alone(settings_page, live):
    page = settings_page
    page.goto(live.url("/settings"))
    page.get_by_role("link", name="Напоминания").click()
    expect(page.get_by_role("heading", name="Добавить напоминание")).to_be_visible()
    page.get_by_label("Часов").fill("2")
    page.get_by_label("Когда").select_option(label="после выставления")
    page.get_by_label("Как").select_option(label="эл. почта")
    page.click("button:has-text('Добавить напоминание')")
    expect(page.locator(".flash-success")).to_have_text("Напоминание добавлено")
    expect(page.locator(".reminder-steps")).to_contain_text("через 2 ч после выставления, эл. почта")

    reminded, left_alone = unique_email("reminded"), unique_email("alone")
    number = issue(page, live, unique_key(), email=reminded)
    quiet = issue(page, live, unique_key(), email=left_alone)
    page.goto(live.url(f"/invoices/{quiet}"))
    expect(page.locator(".auto-remind")).to_contain_text("Автонапоминания: включены")
    page.click(".auto-remind button:has-text('Не напоминать')")
    expect(page.locator(".auto-remind")).to_contain_text("Автонапоминания: выключены")

    later = (datetime.now(UTC) + timedelta(hours=2, minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    # The merchant's older demo invoices still waiting get the step too: at least our one is sent.
    assert int(live.job("remind", "--now", later).split(": ")[1]) >= 1
    reminder = live.mail.wait(reminded, count=2)
    assert "Напоминаем: этот счет ждет оплаты." in text_of(reminder)
    assert f"№ {number}" in text_of(reminder)
    live.mail.wait(left_alone)
    assert len(live.mail.to(left_alone)) == 1
    page.goto(live.url(f"/invoices/{number}"))
    expect(page.locator(".events")).to_contain_text("напоминание (авто)")

    page.goto(live.url("/settings/reminders"))
    page.click(".reminder-steps button:has-text('Удалить')")
    expect(page.locator(".flash-success")).to_have_text("Напоминание удалено")
    expect(page.locator(".reminder-steps")).to_have_count(0)
