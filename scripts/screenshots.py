"""Render the key screens into docs/screenshots/ with headless Chromium (make screenshots)."""
import os
import re
import shutil
import sqlite3
import sys
import tempfile

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from live import ROOT, environment, flask, wait_for, web, worker  # noqa: E402
from statement_files import Payment, statement_file  # noqa: E402
from webhook_receiver import serve as webhook_receiver  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "demo password 1"


def launch(playwright):
    """Debian's Chromium, never a downloaded browser."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)


def main(out=os.path.join(ROOT, "docs", "screenshots")):
    """Start the app on a throwaway instance, click through the screens, save PNGs."""
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ckbiz-shots-")
    env = environment(tmp, f"sqlite:///{tmp}/ckbiz.db", "", BASE_URL="http://127.0.0.1:5098",
                      MERCHANT_SERVICES="self", WEBHOOK_ALLOW_PRIVATE="true")
    flask(env, "init-db")
    flask(env, "demo", "--password", PASSWORD, "--invoices", "40")
    with web(env, 5098, f"{tmp}/web.log"), worker(env, f"{tmp}/worker.log"), sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ru-RU")
        base = "http://127.0.0.1:5098"
        page.goto(base + "/recover")
        page.fill("#phone", "9000000000")
        page.fill("#captcha", "00000")
        page.click("button:has-text('Восстановить')")
        page.wait_for_selector(".error")
        page.screenshot(path=f"{out}/recover.png", full_page=True)
        page.goto(base + "/login")
        page.screenshot(path=f"{out}/login.png", full_page=True)
        page.fill("#phone", "9000000000")
        page.fill("#password", PASSWORD)
        page.click("text=Войти")
        page.wait_for_url("**/invoices/new")
        page.fill("#req-account", "34234234")
        page.fill("#req-fio", "Иванов Иван Иванович")
        page.fill("#payer_phone", "9026376577")
        page.fill("#payer_email", "payer@example.com")
        page.fill("#amount", "1500,00")
        page.wait_for_selector("#commission strong")
        page.screenshot(path=f"{out}/issue-form.png", full_page=True)
        page.click("text=Просмотр")
        page.wait_for_selector("dialog[open]")
        page.screenshot(path=f"{out}/issue-preview.png")
        page.click("dialog >> text=Выставить")
        page.wait_for_url(re.compile(r"/invoices/\d+$"))
        page.screenshot(path=f"{out}/issued.png", full_page=True)
        history(page, base, out)
        settings(page, base, out)
        team(browser, page, base, out, tmp)
        api(page, base, out)
        webhooks(page, base, out)
        positions(page, base, out)
        statements(page, base, out, tmp)
        payer(browser, base, out, tmp)
        refund(browser, page, base, out, tmp)
        dashboard(browser, page, base, out, env)
        hardening(browser, page, base, out, tmp)
        browser.close()


def history(page, base, out):
    """§5–§6: the history, the «Инвойс» dialog, an action refused on a stale page."""
    page.goto(base + "/invoices")
    page.screenshot(path=f"{out}/history.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: each invoice a card
    page.screenshot(path=f"{out}/history-phone.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.fill("#q", "342")
    expect(page.locator("#history-rows tr")).to_have_count(1)
    page.screenshot(path=f"{out}/history-search.png")
    page.click("#history-rows tr:first-child .icon-link")
    page.wait_for_selector("dialog#invoice-dialog[open]")
    page.screenshot(path=f"{out}/invoice-dialog.png")
    page.keyboard.press("Escape")
    page.goto(base + "/invoices?status=issued")
    row = page.locator("#history-rows tr").nth(1)  # the newest stays payable for payer()
    number = row.get_attribute("id").split("-")[1]
    # Someone cancels the invoice in another tab; this page still offers «Напомнить».
    page.request.post(f"{base}/invoices/{number}/cancel", form={
        "csrf_token": page.input_value("input[name=csrf_token] >> nth=0"), "confirm": "1"})
    row.locator("text=Напомнить").click()
    page.wait_for_selector("#toast.error:not([hidden])")
    page.screenshot(path=f"{out}/refused-action.png")



def team(browser, page, base, out, tmp):
    """«Сотрудники» with an accountant who joined and one still invited; «Сеансы» of two devices."""
    page.goto(base + "/settings/team")
    for phone, name, role in (("9165557711", "Иванова Анна", "Бухгалтер"), ("9165557722", "Петров Пётр", "Наблюдатель")):
        page.fill("#phone", phone)
        page.fill("#name", name)
        page.select_option("#role", label=role)
        page.click("button:has-text('Пригласить')")
        page.wait_for_selector(".flash-success")
    link = wait_for(lambda: invitation_link(tmp), what="the invitation SMS")
    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="ru-RU", user_agent=(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"))
    phone.goto(base + link)
    phone.screenshot(path=f"{out}/invitation.png", full_page=True)
    phone.fill("#password", "accountant password")
    phone.fill("#confirm", "accountant password")
    phone.click("button:has-text('Задать пароль и войти')")
    phone.wait_for_url("**/invoices/new")
    page.goto(base + "/settings/team")
    page.screenshot(path=f"{out}/team.png", full_page=True)
    page.goto(base + "/settings/sessions")
    page.screenshot(path=f"{out}/sessions.png", full_page=True)


def api(page, base, out):
    """«Настройки» → «API» right after «Создать ключ» (the key shown once), and the /api/docs reference."""
    page.goto(base + "/settings/api")
    page.fill("#name", "Интернет-магазин")
    page.click("button:has-text('Создать ключ')")
    page.wait_for_selector("#new-key")
    page.screenshot(path=f"{out}/api-keys.png", full_page=True)
    page.goto(base + "/api/docs")
    page.screenshot(path=f"{out}/api-docs.png")
def webhooks(page, base, out):
    """«Webhooks»: the secret shown once after saving, then a log with a failed and a delivered event."""
    with webhook_receiver() as receiver:
        receiver.answer(500)
        page.goto(base + "/settings/webhooks")
        page.fill("#url", receiver.url)
        page.click("button:has-text('Сохранить')")
        page.wait_for_selector("#webhook-secret")
        page.screenshot(path=f"{out}/webhook-secret.png", full_page=True)
        for _ in range(2):
            page.click("button:has-text('Отправить тестовое событие')")
            page.wait_for_selector(".flash-success")
        wait_for(lambda: len(receiver.requests) == 2, what="two webhook pings")
        page.goto(base + "/settings/webhooks")
        page.screenshot(path=f"{out}/webhooks.png", full_page=True)


def invitation_link(tmp):
    """The first invitation link the console SMS backend wrote, or None yet."""
    try:
        with open(f"{tmp}/sms.log", encoding="utf-8") as fh:
            found = re.findall(r"http://127\.0\.0\.1:5098(/invite/[A-Za-z0-9_-]+)", fh.read())
    except FileNotFoundError:
        return None
    return found[0] if found else None


def settings(page, base, out):
    """§7: main data, the services, the rename dialog."""
    page.goto(base + "/settings")
    page.check("#copy_invoices")
    page.fill("#copy_email", "me@shop.example")
    page.screenshot(path=f"{out}/settings.png", full_page=True)
    page.goto(base + "/settings/services")
    page.click("#history-rows, .services .pencil a >> nth=0")
    page.wait_for_selector("dialog#rename-dialog[open]")
    page.screenshot(path=f"{out}/rename-dialog.png")
    page.fill("#name", "Квартплата")
    page.click("dialog >> text=Изменить")
    page.wait_for_selector("text=Квартплата")
    page.screenshot(path=f"{out}/services.png")
    page.goto(base + "/settings/services/new")
    page.fill("#inn", "7707083894")
    page.fill("#bik", "044525225")
    page.click("text=Сохранить")
    page.wait_for_selector(".flash-error")
    page.screenshot(path=f"{out}/service-form.png", full_page=True)
    page.goto(base + "/settings/reminders")
    for hours, kind, channels in (("24", "before_expiry", "both"), ("72", "after_issue", "email")):
        page.fill("#hours", hours)
        page.select_option("#kind", kind)
        page.select_option("#channels", channels)
        page.click("button:has-text('Добавить напоминание')")
        page.wait_for_selector(".flash-success")
    page.screenshot(path=f"{out}/reminders.png", full_page=True)


def positions(page, base, out):
    """Issue 15: an invoice with «Позиции» and «Покупатель»; the payer's page then shows it."""
    page.goto(base + "/invoices/new")
    page.click("summary:has-text('Позиции')")
    rows = (("Монтаж видеонаблюдения", "1", "усл.", "12000", "20"), ("Камера IP 4 Мп", "4", "шт.", "3490,50", "20"),
            ("Кабель UTP", "35,5", "м", "42", "20"))
    for i, (name, quantity, unit, price, vat) in enumerate(rows, start=1):
        if i > 1:
            page.click("button:has-text('Добавить позицию')")
        page.get_by_label(f"Позиция {i}: наименование").fill(name)
        page.get_by_label(f"Позиция {i}: количество").fill(quantity)
        page.get_by_label(f"Позиция {i}: единица").select_option(unit)
        page.get_by_label(f"Позиция {i}: цена").fill(price)
        page.get_by_label(f"Позиция {i}: ставка НДС").select_option(vat)
    expect(page.locator("#amount")).to_have_value("27453,00")
    page.click("summary:has-text('Покупатель')")
    page.fill("#payer_org_name", "ООО «Ромашка»")
    page.fill("#payer_org_inn", "7707083893")
    page.fill("#payer_org_kpp", "773601001")
    page.fill("#req-account", "51000321")
    page.fill("#req-fio", "Петров Петр Петрович")
    page.fill("#payer_email", "romashka@example.com")
    page.screenshot(path=f"{out}/issue-positions.png", full_page=True)
    page.click("button.primary:has-text('Выставить')")
    page.wait_for_url(re.compile(r"/invoices/\d+$"))
    page.screenshot(path=f"{out}/issued-positions.png", full_page=True)


def statements(page, base, out, tmp):
    """Issue 17: a bank statement uploaded: paid by number and amount, a suggestion, the rest."""
    with sqlite3.connect(f"{tmp}/ckbiz.db") as conn:
        issued = conn.execute("SELECT number, amount_kop FROM invoice WHERE status = 'issued' AND amount_kop IN "
                              "(SELECT amount_kop FROM invoice WHERE status = 'issued' GROUP BY amount_kop "
                              "HAVING COUNT(*) = 1) ORDER BY number LIMIT 3").fetchall()
    conn.close()
    (first, first_kop), (second, second_kop), (third, third_kop) = issued
    path = f"{tmp}/kl_to_1c.txt"
    with open(path, "wb") as fh:
        fh.write(statement_file([
            Payment(number="311", amount=f"{first_kop / 100:.2f}", purpose=f"Оплата по счету № {first}, ЛИЦ. СЧЕТ 34234234"),
            Payment(number="312", amount=f"{third_kop / 100:.2f}", purpose=f"оплата сч. {third} НДС не облагается",
                    payer="ИП Сидоров С.С.", payer_inn="772012345678"),
            Payment(number="47", amount=f"{second_kop / 100:.2f}", purpose="за услуги по договору", payer="Петров П.П."),
            Payment(number="48", amount="1250.00", purpose="Оплата за ноябрь", payer="ООО \"Вектор\""),
        ], balances=True))
    page.goto(base + "/statements")
    page.get_by_label("Файл выписки").set_input_files(path)
    page.click("button:has-text('Загрузить выписку')")
    page.wait_for_url(re.compile(r"/statements/\d+$"))
    page.screenshot(path=f"{out}/statement.png", full_page=True)


def payer(browser, base, out, tmp):
    """The payer on a phone: the invoice page, the card form, the result."""
    import glob
    import email
    from email import policy

    mails = wait_for(lambda: glob.glob(f"{tmp}/outbox/*.eml"), what="an e-mail in the outbox")
    newest = max(mails, key=os.path.getmtime)
    message = email.message_from_bytes(open(newest, "rb").read(), policy=policy.default)
    link = re.search(r"http://\S+/i/\S+", message.get_body(("plain",)).get_content()).group(0)
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, locale="ru-RU",
                                is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(link)
    page.screenshot(path=f"{out}/payer-page.png", full_page=True)
    page.click("text=Оплатить банковской картой")
    page.wait_for_url("**/pay/demo/**")
    page.goto(link)  # back from the card page unpaid: «Платеж обрабатывается», the button stays
    page.wait_for_selector("#payment-status")
    page.screenshot(path=f"{out}/payer-processing.png", full_page=True)
    page.click("text=Оплатить банковской картой")
    page.wait_for_url("**/pay/demo/**")
    page.fill("#number", "4242 4242 4242 4242")
    page.fill("#expiry", "12/30")
    page.fill("#cvc", "123")
    page.fill("#holder", "IVAN IVANOV")
    page.screenshot(path=f"{out}/card-form.png", full_page=True)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Оплата прошла", timeout=20000)
    page.screenshot(path=f"{out}/card-paid.png", full_page=True)
    phone.close()


def refund(browser, page, base, out, tmp):
    """A card payment that came after the invoice was cancelled: «Вернуть платеж» for the owner."""
    page.goto(base + "/invoices?status=issued")
    number = page.locator("#history-rows tr").first.get_attribute("id").split("-")[1]
    with sqlite3.connect(f"{tmp}/ckbiz.db") as conn:
        [(token,)] = conn.execute("SELECT token FROM invoice WHERE number = ? AND merchant_id = "
                                  "(SELECT merchant_id FROM users WHERE phone = '9000000000')", (number,)).fetchall()
    payer = browser.new_page(locale="ru-RU")
    payer.goto(f"{base}/i/{token}")
    payer.click("text=Оплатить банковской картой")
    payer.wait_for_url("**/pay/demo/**")
    page.request.post(f"{base}/invoices/{number}/cancel", form={
        "csrf_token": page.input_value("input[name=csrf_token] >> nth=0"), "confirm": "1"})
    payer.fill("#number", "4242 4242 4242 4242")
    payer.fill("#expiry", "12/30")
    payer.fill("#cvc", "123")
    payer.fill("#holder", "IVAN IVANOV")
    payer.click("button[type=submit]")
    payer.wait_for_selector("text=Оплата прошла", timeout=20000)
    payer.close()
    page.goto(f"{base}/invoices/{number}")
    page.wait_for_selector("text=Вернуть платеж")
    page.screenshot(path=f"{out}/refund.png", full_page=True)


def dashboard(browser, page, base, out, env):
    """Issue 19: «Сводка» of the last 30 days on a desktop and on a 360 px phone."""
    flask(env, "demo", "--password", PASSWORD, "--invoices", "600")  # a month with something to draw
    page.goto(base + "/dashboard")
    page.click(".presets >> text=30 дней")
    page.wait_for_url("**/dashboard?from=*")
    page.screenshot(path=f"{out}/dashboard.png", full_page=True)
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, locale="ru-RU",
                                is_mobile=True, has_touch=True, storage_state=page.context.storage_state())
    small = phone.new_page()
    small.goto(page.url)
    small.screenshot(path=f"{out}/dashboard-phone.png", full_page=True)
    phone.close()


def hardening(browser, page, base, out, tmp):
    """Issue 20: money to return in the history, the login captcha after a stranger's guesses, a
    disabled merchant's payer page (last: it switches the demo merchant off)."""
    with sqlite3.connect(f"{tmp}/ckbiz.db") as database:
        database.execute("UPDATE payment SET attention = 'refund: счет в статусе «Отменен»' "
                         "WHERE id = (SELECT MAX(id) FROM payment)")
        token = database.execute("SELECT token FROM invoice WHERE status = 'issued' ORDER BY id DESC").fetchone()[0]
    page.goto(base + "/invoices")
    page.screenshot(path=f"{out}/history-refund.png")
    stranger = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    for _ in range(10):
        stranger.goto(base + "/login")
        stranger.fill("#phone", "9000000000")
        stranger.fill("#password", "a wrong guess")
        stranger.click("text=Войти")
        stranger.wait_for_selector(".error")
    stranger.screenshot(path=f"{out}/login-captcha.png", full_page=True)
    with sqlite3.connect(f"{tmp}/ckbiz.db") as database:
        database.execute("UPDATE merchant SET active = 0")
    stranger.goto(f"{base}/i/{token}")
    stranger.screenshot(path=f"{out}/payer-disabled.png", full_page=True)
    stranger.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
