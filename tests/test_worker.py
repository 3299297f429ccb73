"""Deliveries with a real consumer process: nothing is lost while the worker is down."""
import os
import signal
import threading
import time

import pytest

from ckbiz import tasks
from ckbiz import worker as consumer_module
from ckbiz.extensions import QUEUES, db, huey, urgent_huey
from ckbiz.models import Delivery, Invoice
from conftest import csrf_token
from live import environment, wait_for, worker


def queue_url():
    """The URL of the queue this test process enqueues into."""
    storage = huey.storage
    if hasattr(storage, "filename"):
        return "sqlite:///" + storage.filename
    kwargs = storage.conn.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


@pytest.fixture
def queued(app):
    """Tasks go to the real queues (not run inline), which start empty."""
    for queue in QUEUES:
        queue.immediate = False
        queue.flush()
    yield
    for queue in QUEUES:
        queue.flush()


def issue_three(app, client, merchant):
    from ckbiz.models import Service
    with app.app_context(), db.connection_context():
        service = Service.of(merchant).first()
    for n in range(3):
        response = client.post("/invoices", data={
            "csrf_token": csrf_token(client, "/invoices/new"), "service": str(service.id),
            "payer_email": f"payer{n}@example.com", "payer_phone": "9026376577",
            "req-account": str(1000 + n), "req-fio": "Иванов", "validity_hours": "24", "amount": "10"})
        assert response.status_code == 303


def states(app):
    with app.app_context(), db.connection_context():
        return sorted(d.state for d in Delivery.select())


def test_invoices_issue_with_the_worker_down_and_go_out_when_it_starts(
        app, client, auth, merchant, smtp, queued, tmp_path):
    auth.login()
    issue_three(app, client, merchant)
    assert states(app) == ["pending"] * 6
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue_url(),
                      MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, BASE_URL="http://ckbiz.test")
    with worker(env, tmp_path / "worker.log") as consumer:
        wait_for(lambda: states(app) == ["sent"] * 6, timeout=30, what="all deliveries sent")
        assert consumer.stop(signal.SIGTERM) == 0
    # What the tasks did is in the rows; the queue keeps none of it.
    assert [queue.storage.result_store_size() for queue in QUEUES] == [0, 0]
    assert sorted(r[0] for _, r, _ in smtp.messages) == [f"payer{n}@example.com" for n in range(3)]
    log = open(os.path.join(app.instance_path, "sms.log"), encoding="utf-8").read().splitlines()
    assert len(log) == 3


def test_payer_flow_end_to_end_with_real_processes(app, client, merchant, smtp, queued, tmp_path):
    """Issue → open the link → pay by card → signed callback → «Оплачен» → notice → «Проведен»."""
    from conftest import free_port
    from factories import make_invoice
    from live import flask, web
    from ckbiz.models import Invoice, Merchant

    with app.app_context(), db.connection_context():
        Merchant.update(email="shop@example.com").execute()
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue_url(),
                      MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, BASE_URL=f"http://127.0.0.1:{port}",
                      PAYMENT_SECRET=app.config["PAYMENT_SECRET"], SETTLEMENT_DELAY_MINUTES=0)
    invoice = make_invoice(app, merchant, email="payer@example.com", phone=None)
    with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
        wait_for(lambda: len(smtp.messages) == 1, what="the invoice e-mail")
        link = smtp.messages[0][2].get_body(("plain",)).get_content().split(
            f"http://127.0.0.1:{port}")[1].split()[0]
        assert link == f"/i/{invoice.token}"
        page = client.get(link).get_data(as_text=True)
        assert "Оплатить банковской картой" in page
        form = client.post(f"{link}/pay", data={"csrf_token": csrf_token(client, link)}).headers["Location"]
        result = client.post(form, data={"csrf_token": csrf_token(client, form), "number": "4242 4242 4242 4242",
                                         "expiry": "12/40", "cvc": "123", "holder": "IVAN IVANOV"})
        assert result.status_code == 303
        assert "Ждем подтверждения банка" in client.get(form).get_data(as_text=True)

        def status():
            with app.app_context(), db.connection_context():
                return Invoice.get_by_id(invoice.id).status

        wait_for(lambda: status() == "paid", what="the card payment to be confirmed")
        assert "Оплата прошла" in client.get(form).get_data(as_text=True)
        wait_for(lambda: len(smtp.messages) == 3, what="the paid notices")
        subjects = {m["Subject"] for _, _, m in smtp.messages}
        assert f"Счет № {invoice.number} оплачен" in subjects
        assert "settle: 1" in flask(env, "jobs", "run", "settle").stdout
    assert status() == "transferred"


def test_declined_card_leaves_the_invoice_issued(app, client, merchant, smtp, queued, tmp_path):
    from conftest import free_port
    from factories import make_invoice
    from live import web
    from ckbiz.models import Payment

    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue_url(),
                      MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, BASE_URL=f"http://127.0.0.1:{port}",
                      PAYMENT_SECRET=app.config["PAYMENT_SECRET"])
    invoice = make_invoice(app, merchant)
    with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
        link = f"/i/{invoice.token}"
        form = client.post(f"{link}/pay", data={"csrf_token": csrf_token(client, link)}).headers["Location"]
        client.post(form, data={"csrf_token": csrf_token(client, form), "number": "4000 0000 0000 0002",
                                "expiry": "12/40", "cvc": "123", "holder": "IVAN IVANOV"})

        def payment_status():
            with app.app_context(), db.connection_context():
                return Payment.get().status

        wait_for(lambda: payment_status() == "failed", what="the decline")
        assert "Платеж отклонен банком" in client.get(form).get_data(as_text=True)
    with app.app_context(), db.connection_context():
        from ckbiz.models import Invoice
        assert Invoice.get_by_id(invoice.id).status == "issued"


def test_mail_server_down_then_back_with_a_real_consumer(app, client, auth, merchant, queued, tmp_path):
    """SMTP refuses: the invoice is issued, the merchant sees it pending; the server comes back: sent once."""
    from aiosmtpd.controller import Controller
    from conftest import SmtpRecorder, free_port

    auth.login()
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue_url(), MAIL_SERVER="127.0.0.1",
                      MAIL_PORT=port, MAIL_TIMEOUT=1, DELIVERY_BACKOFF_SECONDS="[1, 1, 1, 1, 1]")
    issue_three(app, client, merchant)
    with worker(env, tmp_path / "worker.log"):
        def email_rows():
            with app.app_context(), db.connection_context():
                return list(Delivery.select().where(Delivery.channel == "email"))

        wait_for(lambda: all(d.attempts >= 1 and d.state == "pending" and d.last_error for d in email_rows()),
                 what="failed first attempts")
        with app.app_context(), db.connection_context():
            number = Invoice.get_by_id(email_rows()[0].invoice_id).number
        page = client.get(f"/invoices/{number}").get_data(as_text=True)
        assert "ожидает отправки" in page and "Connection" in page
        recorder = SmtpRecorder()
        controller = Controller(recorder, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            wait_for(lambda: all(d.state == "sent" for d in email_rows()), what="deliveries sent after recovery")
        finally:
            controller.stop()
    assert sorted(r[0] for _, r, _ in recorder.messages) == [f"payer{n}@example.com" for n in range(3)]


def test_tasks_starting_together_on_a_fresh_consumer_share_one_database_pool(app, monkeypatch):
    """Found by bench/load.py: the periodic jobs start together when a consumer starts.

    Each worker thread's first task once built the tasks' app itself, and every build
    replaced the database pool, closing the connections of tasks already running
    (IndexError: pop from empty list; "bad parameter or other API misuse"). The app is
    now the one the factory built before the consumer started, shared by every thread.
    """
    errors = []

    class FourTasksAtOnce:
        """Stands in for huey's consumer: four threads run their first task at the same moment."""

        def __init__(self, huey, **options):
            pass

        def run(self):
            barrier = threading.Barrier(4)

            def task():
                barrier.wait()
                try:
                    with tasks.task_scope():
                        for _ in range(50):
                            db.execute_sql("SELECT COUNT(*) FROM merchant").fetchall()
                            time.sleep(0.002)
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(repr(exc))

            threads = [threading.Thread(target=task) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    monkeypatch.setattr(consumer_module, "GracefulConsumer", FourTasksAtOnce)
    consumer_module.run(huey, urgent_huey)
    assert errors == []
