"""A mail server that accepts connections and never greets holds a worker thread for MAIL_TIMEOUT
per message. Ten ordinary e-mails waiting on it must not delay a card payment: the payment's
confirmation runs on the urgent queue's own threads (worker.run), with a real web process and a
real worker."""
import socket
import threading
import time

import pytest

from conftest import csrf_token, free_port
from factories import make_invoice
from live import environment, wait_for, web, worker
from test_worker import queue_url, queued  # noqa: F401 (the fixture)

from ckbiz.extensions import db
from ckbiz.models import Invoice


class SilentSmtp:
    """Accepts every connection and says nothing, ever."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self):
        self.listener.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def silent_smtp():
    server = SilentSmtp()
    yield server
    server.close()


def test_a_silent_mail_server_does_not_delay_a_card_payment(app, client, merchant, silent_smtp, queued, tmp_path):
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], queue_url(),
                      MAIL_SERVER="127.0.0.1", MAIL_PORT=silent_smtp.port, MAIL_TIMEOUT=10,
                      BASE_URL=f"http://127.0.0.1:{port}", PAYMENT_SECRET=app.config["PAYMENT_SECRET"])
    for n in range(10):
        make_invoice(app, merchant, key=str(1000 + n), email=f"payer{n}@example.com", phone=None)
    invoice = make_invoice(app, merchant, key="2000", email=None, phone=None)
    with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
        wait_for(lambda: len(silent_smtp.connections) >= 2, timeout=15,
                 what="every ordinary worker thread waiting on the silent server")
        link = f"/i/{invoice.token}"
        form = client.post(f"{link}/pay", data={"csrf_token": csrf_token(client, link)}).headers["Location"]
        started = time.monotonic()
        result = client.post(form, data={"csrf_token": csrf_token(client, form), "number": "4242 4242 4242 4242",
                                         "expiry": "12/40", "cvc": "123", "holder": "IVAN IVANOV"})
        assert result.status_code == 303

        def status():
            with app.app_context(), db.connection_context():
                return Invoice.get_by_id(invoice.id).status

        wait_for(lambda: status() == "paid", timeout=5, what="the card payment confirmed within 5 s")
        assert time.monotonic() - started < 5
