"""Idempotency-Key on the API's POSTs: the same key and body within 24 h answer the first answer
again and make nothing; another body is 422; while the first still runs, 409; and requests racing
with one key against real server processes make one invoice, on SQLite and on PostgreSQL."""
import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

from api_helpers import api, api_key, invoices_of, issue_body  # noqa: F401
from ckbiz.database import utcnow
from ckbiz.domain import idempotency
from ckbiz.extensions import db
from ckbiz.models import Delivery, IdempotentRequest
from conftest import free_port
from factories import make_invoice
from live import environment, flask, web


def key(value):
    return {"Idempotency-Key": value}


def test_the_same_request_again_gets_the_first_answer_and_makes_nothing(app, api, merchant):
    body = issue_body(app, merchant)
    first = api.post("/api/v1/invoices", json=body, headers=key("order-1001"))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    with app.app_context(), db.connection_context():
        deliveries = Delivery.select().count()
    again = api.post("/api/v1/invoices", json=body, headers=key("order-1001"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert len(invoices_of(app, merchant)) == 1
    with app.app_context(), db.connection_context():
        assert Delivery.select().count() == deliveries  # the payer is not messaged twice
    # Another key is another request.
    assert api.post("/api/v1/invoices", json=body, headers=key("order-1002")).get_json()["number"] == 2


def test_the_same_key_with_another_body_is_422_and_makes_nothing(app, api, merchant):
    api.post("/api/v1/invoices", json=issue_body(app, merchant), headers=key("order-7"))
    response = api.post("/api/v1/invoices", json=issue_body(app, merchant, amount="99.00"), headers=key("order-7"))
    assert response.status_code == 422 and response.get_json()["errors"]["Idempotency-Key"]
    # …and on another path.
    make_invoice(app, merchant)
    assert api.post("/api/v1/invoices/2/cancel", headers=key("order-7")).status_code == 422
    assert [i.status for i in invoices_of(app, merchant)] == ["issued", "issued"]


def test_while_the_first_request_runs_the_same_key_is_409(app, api, merchant):
    body = issue_body(app, merchant)
    raw = json.dumps(body).encode()
    with app.app_context(), db.connection_context():
        # The first request has claimed the key and not answered yet: exactly the row it leaves meanwhile.
        outcome, _row = idempotency.claim(merchant.id, "order-5", idempotency.fingerprint(
            "POST", "/api/v1/invoices", raw))
    assert outcome == "new"
    response = api.post("/api/v1/invoices", data=raw, headers={**key("order-5"), "Content-Type": "application/json"})
    assert response.status_code == 409 and response.headers["Retry-After"]
    assert invoices_of(app, merchant) == []


def test_a_claim_left_by_a_process_that_died_is_taken_over(app, api, merchant):
    body = issue_body(app, merchant)
    raw = json.dumps(body).encode()
    with app.app_context(), db.connection_context():
        idempotency.claim(merchant.id, "order-9", idempotency.fingerprint("POST", "/api/v1/invoices", raw))
    headers = {**key("order-9"), "Content-Type": "application/json"}
    assert api.post("/api/v1/invoices", data=raw, headers=headers).status_code == 409
    with app.app_context(), db.connection_context():
        IdempotentRequest.update(created_at=utcnow() - timedelta(minutes=3)).execute()
    assert api.post("/api/v1/invoices", data=raw, headers=headers).status_code == 201
    assert len(invoices_of(app, merchant)) == 1


def test_a_refusal_is_kept_too_and_a_day_later_the_key_is_free(app, api, merchant):
    bad = issue_body(app, merchant, amount="0")
    assert api.post("/api/v1/invoices", json=bad, headers=key("k")).status_code == 422
    replay = api.post("/api/v1/invoices", json=bad, headers=key("k"))
    assert replay.status_code == 422 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content_type == "application/problem+json"
    with app.app_context(), db.connection_context():
        IdempotentRequest.update(created_at=utcnow() - timedelta(hours=25)).execute()
    good = issue_body(app, merchant)
    assert api.post("/api/v1/invoices", json=good, headers=key("k")).status_code == 201


def test_actions_are_idempotent_too(app, api, merchant):
    make_invoice(app, merchant)
    first = api.post("/api/v1/invoices/1/cancel", headers=key("cancel-1"))
    again = api.post("/api/v1/invoices/1/cancel", headers=key("cancel-1"))
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    # Without the key the second cancel is refused by the invoice's status.
    assert api.post("/api/v1/invoices/1/cancel").status_code == 409


def test_a_bad_idempotency_key_is_400(app, api, merchant):
    assert api.post("/api/v1/invoices", json=issue_body(app, merchant), headers=key("x" * 256)).status_code == 400
    assert invoices_of(app, merchant) == []


def test_racing_requests_with_one_key_make_one_invoice_on_real_servers(app, merchant, api_key, tmp_path):
    """Eight requests at the same moment, with one key, against four server processes."""
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], f"sqlite:///{tmp_path / 'huey.db'}",
                      BASE_URL=f"http://127.0.0.1:{port}")
    flask(env, "init-db")
    body = json.dumps(issue_body(app, merchant)).encode()
    start, answers = threading.Barrier(8), []

    def post():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/invoices", data=body, method="POST",
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                     "Idempotency-Key": "order-race"})
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.loads(error.read())))

    def warm_up():
        # Each server process opens its database connection at its first request: not in the race.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/services",
                                         headers={"Authorization": f"Bearer {api_key}"})
        urllib.request.urlopen(request, timeout=30).read()

    with web(env, port, tmp_path / "web.log", workers=4):
        for target in (warm_up, post):
            threads = [threading.Thread(target=target) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    statuses = sorted(status for status, _ in answers)
    assert len(answers) == 8 and set(statuses) <= {201, 409} and 201 in statuses, answers
    assert {answer["number"] for status, answer in answers if status == 201} == {1}
    assert [i.number for i in invoices_of(app, merchant)] == [1]
