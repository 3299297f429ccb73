"""Deliveries with a real consumer process: nothing is lost while the worker is down."""
import os
import signal

import pytest

from ckbiz.extensions import db, huey
from ckbiz.models import Delivery
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
    """Tasks go to the real queue (not run inline), which starts empty."""
    huey.immediate = False
    huey.flush()
    yield
    huey.flush()


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
    assert sorted(r[0] for _, r, _ in smtp.messages) == [f"payer{n}@example.com" for n in range(3)]
    log = open(os.path.join(app.instance_path, "sms.log"), encoding="utf-8").read().splitlines()
    assert len(log) == 3
