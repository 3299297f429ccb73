"""Invoice e-mail (§4.8) through a real SMTP server, and what happens when it fails."""
import asyncio
from datetime import timedelta

import pytest

from ckbiz import tasks
from ckbiz.delivery import runner as outbox_runner
from ckbiz.database import utcnow
from ckbiz.extensions import db, huey
from ckbiz.models import Delivery, Invoice, Merchant, Service
from conftest import SmtpRecorder, csrf_token, free_port
from factories import make_invoice


def issue(app, client, merchant, **overrides):
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    data = {"csrf_token": csrf_token(client, "/invoices/new"), "service": str(service.id),
            "payer_phone": "", "payer_email": "payer@example.com", "req-account": "34234234",
            "req-fio": "Иванов Иван", "comment": "", "validity_hours": "24", "amount": "200"}
    data.update(overrides)
    response = client.post("/invoices", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        return Invoice.get(Invoice.number == int(response.headers["Location"].rsplit("/", 1)[1]))


def delivery_rows(app, invoice):
    with app.app_context(), db.connection_context():
        return list(Delivery.select().where(Delivery.invoice == invoice.number).order_by(Delivery.id))


def test_the_payer_receives_the_invoice_of_the_manual(app, logged_in, merchant, smtp):
    invoice = issue(app, logged_in, merchant)
    assert len(smtp.messages) == 1
    sender, rcpts, message = smtp.messages[0]
    assert rcpts == ["payer@example.com"]
    assert f"Счет № {invoice.number}" in message["Subject"] and "Демо-организация" in message["Subject"]
    assert "200,00 ₽" in message["Subject"]  # header folding makes the no-break spaces plain
    assert message["Message-ID"] == delivery_rows(app, invoice)[0].message_id
    assert message.is_multipart()
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"http://ckbiz.test/i/{invoice.token}"
    for part in (text, html):
        for label in ("Дата выставления", "Оплатить до", "Название", "ИНН/КПП", "Расчётный счёт",
                      "БИК", "Услуга", "Получатель", "Реквизиты", "ЛИЦ. СЧЕТ", "34234234",
                      "Сумма к оплате", "200,00\u00a0₽", "Предполагаемая комиссия", "3,00\u00a0₽", "(МСК)"):
            assert label in part, label
        assert link in part
    assert "ОПЛАТИТЬ БАНКОВСКОЙ КАРТОЙ" in text
    assert f'href="{link}"' in html and "Оплатить банковской картой" in html
    assert delivery_rows(app, invoice)[0].state == "sent"
    assert logged_in.get(f"/i/{invoice.token}").status_code == 200


def test_a_copy_goes_to_the_merchant_when_asked(app, logged_in, merchant, smtp):
    with app.app_context(), db.connection_context():
        Merchant.update(copy_invoices=True, copy_email="me@shop.example").where(
            Merchant.id == merchant.id).execute()
    issue(app, logged_in, merchant)
    recipients = sorted(r[0] for _, r, _ in smtp.messages)
    assert recipients == ["me@shop.example", "payer@example.com"]
    copy = next(m for _, r, m in smtp.messages if r == ["me@shop.example"])
    assert copy["Subject"].startswith("Копия:")


def test_markup_in_typed_text_is_inert_in_both_parts(app, logged_in, merchant, smtp):
    issue(app, logged_in, merchant, comment='<script>alert(1)</script><img src=x onerror=alert(2)>',
          **{"req-fio": '"><svg onload=alert(3)>'})
    html = smtp.messages[0][2].get_body(("html",)).get_content()
    assert "<script>alert" not in html and "<svg" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_smtp_refusing_connections_keeps_the_invoice_and_retries(app, logged_in, merchant):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=1)
    invoice = issue(app, logged_in, merchant)
    [row] = delivery_rows(app, invoice)
    assert row.state == "pending" and row.attempts == 1
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    page = logged_in.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "ожидает отправки" in page


def test_a_server_that_never_answers_times_out(app, logged_in, merchant):
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=1)
        invoice = issue(app, logged_in, merchant)
    finally:
        listener.close()
    [row] = delivery_rows(app, invoice)
    assert row.state == "pending" and "timed out" in row.last_error.lower()


@pytest.mark.parametrize("reply,state", [("451 4.3.0 try again later", "pending"),
                                         ("554 5.7.1 rejected", "failed")])
def test_smtp_4xx_is_retried_and_5xx_is_final(app, logged_in, merchant, smtp, reply, state):
    smtp.reply = reply
    invoice = issue(app, logged_in, merchant)
    [row] = delivery_rows(app, invoice)
    assert row.state == state and reply.split()[0] in row.last_error
    page = logged_in.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert ("ожидает отправки" if state == "pending" else "не отправлено") in page


def test_after_the_server_is_back_the_sweeper_sends_it_once(app, logged_in, merchant, smtp, runner):
    smtp.reply = "451 4.3.0 try again later"
    invoice = issue(app, logged_in, merchant)
    smtp.reply = None
    assert runner.invoke(args=["jobs", "run", "sweep"]).output.strip() == "sweep: 0"
    with app.app_context(), db.connection_context():
        Delivery.update(lease_until=utcnow() - timedelta(seconds=1)).execute()
    assert runner.invoke(args=["jobs", "run", "sweep"]).output.strip() == "sweep: 1"
    assert runner.invoke(args=["jobs", "run", "sweep"]).output.strip() == "sweep: 0"
    assert len(smtp.messages) == 1
    [row] = delivery_rows(app, invoice)
    assert row.state == "sent" and row.attempts == 2


def test_a_russian_sender_name_and_an_internationalised_domain_arrive_readable(app, logged_in, merchant, smtp):
    app.config["MAIL_DEFAULT_SENDER"] = "ЦК Бизнес <noreply@ckbiz.test>"
    issue(app, logged_in, merchant, payer_email="payer@пример.рф")
    [(sender, rcpts, message)] = smtp.messages
    assert sender == "noreply@ckbiz.test" and rcpts == ["payer@xn--e1afmkfd.xn--p1ai"]
    assert str(message["From"]) == "ЦК Бизнес <noreply@ckbiz.test>"
    assert message["Subject"].startswith("Счет")


def test_messages_share_one_connection_and_survive_the_server_dropping_it(app, logged_in, merchant, smtp):
    from aiosmtpd.controller import Controller

    for key in ("111", "222", "333"):
        issue(app, logged_in, merchant, **{"req-account": key})
    assert len(smtp.messages) == 3 and len(set(smtp.peers)) == 1
    # A restarted server has forgotten our kept connection; the next message still arrives.
    smtp.controller.stop()
    smtp.controller = Controller(smtp, hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()
    invoice = issue(app, logged_in, merchant, **{"req-account": "444"})
    assert len(smtp.messages) == 4 and smtp.peers[3] != smtp.peers[0]
    assert delivery_rows(app, invoice)[0].state == "sent"


def test_a_delivery_that_keeps_failing_ends_failed_after_the_budget(app, logged_in, merchant, smtp):
    smtp.reply = "421 4.7.0 busy"
    invoice = issue(app, logged_in, merchant)
    with app.app_context(), db.connection_context():
        for _ in range(outbox_runner.MAX_ATTEMPTS + 2):
            Delivery.update(lease_until=utcnow() - timedelta(seconds=1)).execute()
            tasks.sweep_deliveries.call_local()
        [row] = delivery_rows(app, invoice)
    assert row.state == "failed" and row.attempts == outbox_runner.MAX_ATTEMPTS and "421" in row.last_error


def test_a_sent_delivery_is_never_sent_again(app, logged_in, merchant, smtp):
    invoice = issue(app, logged_in, merchant)
    [row] = delivery_rows(app, invoice)
    with app.app_context(), db.connection_context():
        assert outbox_runner.deliver(row.id).state is None
        Delivery.update(lease_until=utcnow() - timedelta(hours=1)).execute()
        assert outbox_runner.sweep() == []
    assert len(smtp.messages) == 1


def test_failed_deliveries_can_be_retried_from_the_cli(app, logged_in, merchant, smtp, runner):
    smtp.reply = "550 5.1.1 no such user"
    issue(app, logged_in, merchant)
    smtp.reply = None
    assert "1 failed deliveries queued again" in runner.invoke(args=["deliveries", "retry"]).output
    assert len(smtp.messages) == 1


def test_without_a_mail_server_mail_lands_in_the_outbox(app, logged_in, merchant):
    import os
    invoice = issue(app, logged_in, merchant)
    outbox = os.path.join(app.instance_path, "outbox")
    [name] = os.listdir(outbox)
    content = open(os.path.join(outbox, name), "rb").read().decode("utf-8", "replace")
    assert name.endswith(".eml") and "payer@example.com" in content
    assert delivery_rows(app, invoice)[0].state == "sent"


def test_a_sender_with_a_cyrillic_domain_goes_out_in_idna(app, logged_in, merchant, smtp):
    """SMTP without SMTPUTF8 takes only ASCII: the envelope carries the domain in IDNA, and the
    From header holds the same address, which a mail client shows back in Cyrillic."""
    app.config["MAIL_DEFAULT_SENDER"] = "ckbiz <noreply@почта.рф>"
    invoice = issue(app, logged_in, merchant)
    [(sender, rcpts, message)] = smtp.messages
    assert sender == "noreply@xn--80a1acny.xn--p1ai" and rcpts == ["payer@example.com"]
    [address] = message["From"].addresses
    assert address.display_name == "ckbiz"
    assert f"{address.username}@{address.domain.encode('ascii').decode('idna')}" == "noreply@почта.рф"
    assert delivery_rows(app, invoice)[0].state == "sent"


class ClosingAfterOneMessage(SmtpRecorder):
    """A server that takes one message per connection: the second MAIL FROM is answered 421
    and the connection closed, as servers capping messages per connection do."""

    def __init__(self):
        super().__init__()
        self.mails = {}

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails[session.peer] = self.mails.get(session.peer, 0) + 1
        if self.mails[session.peer] > 1:
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the reply is written
            return "421 4.7.0 one message per connection, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


def test_a_kept_connection_answered_421_is_replaced_in_the_same_attempt(app, logged_in, merchant):
    """421 means this connection is closing, not that the server refuses mail: the next message
    goes out at once on a new connection, with no backoff and no attempt spent."""
    from aiosmtpd.controller import Controller

    server = ClosingAfterOneMessage()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_TIMEOUT=2)
        first = issue(app, logged_in, merchant, **{"req-account": "111"})
        second = issue(app, logged_in, merchant, **{"req-account": "222"})
    finally:
        controller.stop()
    [row] = delivery_rows(app, second)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")
    assert len(server.messages) == 2 and server.peers[0] != server.peers[1]
    assert [m["Message-ID"] for _, _, m in server.messages] == [
        delivery_rows(app, first)[0].message_id, delivery_rows(app, second)[0].message_id]


def test_a_comment_longer_than_an_smtp_line_arrives_whole(app, logged_in, merchant, smtp):
    """A thousand Cyrillic letters on one line are 2000 octets, past SMTP's 1000 per line."""
    comment = "Ж" * 1000
    invoice = issue(app, logged_in, merchant, comment=comment)
    assert delivery_rows(app, invoice)[0].state == "sent"
    [(_, _, message)] = smtp.messages
    assert comment in message.get_body(("plain",)).get_content()
    assert comment in message.get_body(("html",)).get_content()


def test_many_e_mails_go_in_tasks_of_twenty_and_a_failure_comes_back_alone(app, merchant, smtp, monkeypatch):
    """Forty-five invoice e-mails at once (a run of reminders, a sweep) are three tasks, the
    paid notice among them one of its own on the urgent queue; a server that answers 451
    sends each row of the task back on its own, after its backoff."""
    from ckbiz.domain import outbox
    from ckbiz.extensions import urgent_huey

    invoice = make_invoice(app, merchant, phone=None)
    smtp.messages.clear()
    for queue in (huey, urgent_huey):
        monkeypatch.setattr(queue, "immediate", False)
        queue.flush()
    with app.app_context(), db.connection_context():
        with db.atomic():
            rows = [outbox.add(merchant.id, invoice.id, "email", "invoice", f"payer{n}@example.com") for n in range(45)]
            rows.insert(30, outbox.add(merchant.id, invoice.id, "email", "paid_notice", "shop@example.com"))
        tasks.send(rows)
    assert (huey.pending_count(), urgent_huey.pending_count()) == (3, 1)
    smtp.reply = "451 4.3.0 try later"
    with app.app_context():
        huey.execute(huey.dequeue())  # the first twenty, refused for now
    retries = [task for task in huey.pending() if task.eta]
    assert sorted(task.args for task in retries) == sorted((row.id,) for row in rows[:20])
    assert {task.name for task in retries} == {"send_delivery"}
    smtp.reply = None
    with app.app_context():
        for task in [task for task in huey.pending() if not task.eta]:
            huey.execute(task)
    assert sorted(rcpts[0] for _, rcpts, _ in smtp.messages) == sorted(f"payer{n}@example.com" for n in range(20, 45))
    with app.app_context(), db.connection_context():
        states = [Delivery.get_by_id(row.id).state for row in rows]
    assert states.count("sent") == 25 and states.count("pending") == 21  # twenty to retry, the notice queued


def test_a_long_subject_arrives_as_written_in_short_crlf_lines(app, smtp):
    """Headers are written by the old email policy (a third of the time): a subject of a
    long name still arrives letter for letter, without a space before it, and the message
    keeps SMTP's line ends and lengths."""
    from ckbiz.delivery import mail as mailer

    subject = "Счет № 12 от ООО «" + "Очень длинное наименование организации " * 4 + "» на 1 500,00 ₽"
    with app.app_context():
        mailer.send(mailer.build(subject, "payer@example.com", "текст", "<p>текст</p>", "<long@ckbiz>"))
    [(_, _, message)] = smtp.messages
    assert message["Subject"] == subject
    [raw] = smtp.raw
    lines = raw.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and max(len(line) for line in lines) <= 78
    assert message.get_body(("plain",)).get_content() == "текст"


def test_messages_are_flask_mail_messages_and_what_smtp_cannot_carry_is_refused_for_good(app, smtp):
    """Without SMTPUTF8 a non-ASCII local part cannot be written, and a line break in a header
    would add one: retrying cannot help either, so neither is retryable and nothing is sent."""
    import flask_mail

    from ckbiz.delivery import mail as mailer

    with app.app_context():
        message = mailer.build("Счет", "payer@пример.рф", "text", "<p>html</p>", "<x@ckbiz>")
        assert isinstance(message, flask_mail.Message) and message.msgId == "<x@ckbiz>"
        assert message.recipients == ["payer@xn--e1afmkfd.xn--p1ai"]
        with pytest.raises(mailer.MailError) as refused:
            mailer.build("Счет", "иван@example.com", "text", "<p>html</p>", "<x@ckbiz>")
        assert not refused.value.retryable
        app.config["MAIL_DEFAULT_SENDER"] = "ckbiz <почта@example.com>"
        with pytest.raises(mailer.MailError) as refused:
            mailer.build("Счет", "payer@example.com", "text", "<p>html</p>", "<x@ckbiz>")
        assert not refused.value.retryable
        # Past the builder, Flask-Mail's own check still stops a line break before DATA.
        message.recipients = ["payer@example.com\r\nBcc: evil@example.com"]
        with pytest.raises(mailer.MailError) as refused:
            mailer.send(message)
        assert not refused.value.retryable and "line breaks" in str(refused.value)
    assert smtp.messages == []


def test_the_worker_renders_mail_outside_any_request(app, merchant, smtp):
    """The worker has an app but no request: the pages' context (the user's role and tabs) must
    not be asked for while an e-mail is rendered."""
    invoice = make_invoice(app, merchant, phone=None)  # sent at once: huey runs tasks inline here
    assert [row.state for row in delivery_rows(app, invoice)] == ["sent"]
    [(_, rcpts, message)] = smtp.messages
    assert rcpts == ["payer@example.com"] and f"№ {invoice.number}" in message["Subject"]
