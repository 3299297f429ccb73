"""Webhooks (DESIGN "Merchant API and webhooks"): a local receiver on loopback hears each event
once, signed the way the README tells integrators to check; failures are retried with backoff;
URLs into internal networks are refused when saved and at every send."""
import json
import re
import socket
from datetime import timedelta
from pathlib import Path

import pytest

from ckbiz.database import utcnow
from ckbiz.domain import webhook_targets
from ckbiz.extensions import db
from ckbiz.models import Delivery, Invoice, StatementLine, Webhook
from conftest import csrf_token
from factories import make_invoice, make_statement, other_merchant, overdue
from webhook_receiver import serve

SECRET = re.compile(r"<code class=\"secret\">(whsec_[0-9a-f]{64})</code>")


def readme_verifier():
    """`verify_webhook` exactly as the README gives it to integrators."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?def verify_webhook.*?)```", readme, re.S)
    scope = {}
    exec(code, scope)  # noqa: S102 - our own README's example, the very code integrators copy
    return scope["verify_webhook"]


verify_webhook = readme_verifier()


@pytest.fixture
def receiver(app):
    """A merchant's endpoint on loopback; the installation allows private targets, as an intranet would."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT=0.5)
    with serve(silence=1.5) as fake:
        yield fake


def save_url(client, url):
    """Submit «Webhooks» with this URL; the response."""
    return client.post("/settings/webhooks", data={"csrf_token": csrf_token(client, "/settings/webhooks"), "url": url})


@pytest.fixture
def hooked(app, logged_in, receiver):
    """The owner saved the receiver's URL; the secret the page showed that once."""
    response = save_url(logged_in, receiver.url)
    assert response.status_code == 200
    [secret] = SECRET.findall(response.get_data(as_text=True))
    return secret


def rows(app, kind=None):
    with app.app_context(), db.connection_context():
        query = Delivery.select().where(Delivery.channel == "webhook").order_by(Delivery.id)
        return list(query.where(Delivery.kind == kind) if kind else query)


def sweep_now(app, runner):
    """Run the sweeper as if every backoff had passed."""
    with app.app_context(), db.connection_context():
        Delivery.update(lease_until=utcnow() - timedelta(seconds=1)).where(Delivery.state == "pending").execute()
    return runner.invoke(args=["jobs", "run", "sweep"]).output.strip()


def checked(receiver, secret):
    """Every request the receiver got, each verified as the README says, as parsed events."""
    for _path, headers, body in receiver.requests:
        assert verify_webhook(body, headers["X-Ckbiz-Signature"], secret), headers
    return receiver.events()


def test_the_secret_is_shown_once_and_never_stored(app, logged_in, hooked):
    page = logged_in.get("/settings/webhooks").get_data(as_text=True)
    assert hooked not in page and not SECRET.findall(page)
    with app.app_context(), db.connection_context():
        stored = json.dumps(list(Webhook.select().dicts()), default=str)
    assert hooked not in stored and hooked[6:] not in stored


def test_an_issued_invoice_reaches_the_receiver_signed_in_the_designed_shape(app, merchant, receiver, hooked):
    invoice = make_invoice(app, merchant, amount_kop=150000)
    [event] = checked(receiver, hooked)
    assert set(event) == {"id", "type", "created_at", "data"} and event["type"] == "invoice.issued"
    assert event["id"].startswith("evt_") and event["created_at"].endswith("Z")
    sent = event["data"]["invoice"]
    assert sent["number"] == invoice.number and sent["status"] == "issued"
    assert sent["amount"] == "1500.00" and sent["commission"] == "22.50"
    assert sent["payer"] == {"phone": "+79026376577", "email": "payer@example.com"}
    assert sent["requisites"]["account"] == "34234234" and sent["service_id"] == invoice.service_id
    assert sent["url"] == f"http://ckbiz.test/i/{invoice.token}" and sent["paid_at"] is None
    assert sent["issued_at"].endswith("Z") and sent["expires_at"] > sent["issued_at"]
    path, headers, _body = receiver.requests[0]
    assert path == "/ckbiz/hook?shop=1" and headers["Content-Type"].startswith("application/json")
    assert not verify_webhook(receiver.requests[0][2], headers["X-Ckbiz-Signature"], "whsec_" + "0" * 64)
    [row] = rows(app)
    assert row.state == "sent" and row.answer_code == 200 and row.attempts == 1


def test_cancel_and_mark_paid_on_the_pages_send_their_events(app, logged_in, merchant, receiver, hooked):
    first, second = make_invoice(app, merchant), make_invoice(app, merchant)
    token = csrf_token(logged_in, "/invoices")
    assert logged_in.post(f"/invoices/{first.number}/cancel", data={"csrf_token": token, "confirm": "1"}).status_code == 303
    assert logged_in.post(f"/invoices/{second.number}/mark-paid",
                          data={"csrf_token": token, "confirm": "1"}).status_code == 303
    events = checked(receiver, hooked)
    assert [(e["type"], e["data"]["invoice"]["number"]) for e in events[2:]] == [
        ("invoice.cancelled", first.number), ("invoice.paid", second.number)]
    assert events[3]["data"]["invoice"]["paid_at"].endswith("Z")


def test_500s_and_a_timeout_are_retried_with_the_same_event_until_one_is_acknowledged(
        app, merchant, receiver, hooked, runner):
    receiver.answer(500, "silence", 503)
    make_invoice(app, merchant)
    [row] = rows(app)
    assert row.state == "pending" and row.answer_code == 500 and row.last_error.startswith("HTTP 500: <html><head><title>500")
    assert len(row.last_error) <= 220  # only an excerpt of the answer is kept
    assert sweep_now(app, runner) == "sweep: 1"
    [row] = rows(app)
    assert row.state == "pending" and row.answer_code is None and "timed out" in row.last_error
    sweep_now(app, runner)
    sweep_now(app, runner)
    assert sweep_now(app, runner) == "sweep: 0"
    events = checked(receiver, hooked)
    assert len(events) == 4 and len({e["id"] for e in events}) == 1
    assert len({body for _p, _h, body in receiver.requests}) == 1  # the same body, each time signed anew
    [row] = rows(app)
    assert row.state == "sent" and row.attempts == 4 and row.answer_code == 200


def test_the_backoff_is_the_deliveries_one(app, merchant, receiver, hooked):
    receiver.answer(500)
    before = utcnow()
    make_invoice(app, merchant)
    [row] = rows(app)
    lease = app.config["DELIVERY_LEASE_SECONDS"]
    first_wait = app.config["DELIVERY_BACKOFF_SECONDS"][0]
    assert before + timedelta(seconds=first_wait + lease - 1) < row.lease_until


def test_redirects_are_not_followed(app, merchant, receiver, hooked):
    receiver.answer(302)
    make_invoice(app, merchant)
    [row] = rows(app)
    assert row.state == "pending" and row.answer_code == 302 and len(receiver.requests) == 1


def test_the_expiry_and_settlement_jobs_send_one_event_per_invoice_moved(app, merchant, receiver, hooked, runner):
    stranger = other_merchant(app)
    due = [make_invoice(app, merchant) for _ in range(3)]
    for invoice in due:
        overdue(app, invoice)
    overdue(app, make_invoice(app, stranger))  # a merchant without a webhook: no event
    paid = make_invoice(app, merchant, status="paid", paid_by="card", paid_at=utcnow() - timedelta(days=2))
    assert runner.invoke(args=["jobs", "run", "expire"]).output.strip() == "expire: 4"
    assert runner.invoke(args=["jobs", "run", "settle"]).output.strip() == "settle: 1"
    assert runner.invoke(args=["jobs", "run", "sweep"]).output.strip() == "sweep: 4"
    assert runner.invoke(args=["jobs", "run", "sweep"]).output.strip() == "sweep: 0"
    events = [e for e in checked(receiver, hooked) if e["type"] != "invoice.issued"]
    expired = sorted(e["data"]["invoice"]["number"] for e in events if e["type"] == "invoice.expired")
    assert expired == sorted(i.number for i in due)
    assert [e["data"]["invoice"]["number"] for e in events if e["type"] == "invoice.transferred"] == [paid.number]
    assert len({e["id"] for e in events}) == 4
    assert all(e["data"]["invoice"]["status"] == e["type"].split(".")[1] for e in events)


def test_bank_statements_send_invoice_paid_imported_or_confirmed_by_hand(app, logged_in, merchant, receiver, hooked,
                                                                         runner):
    from statement_files import Payment
    from test_statements_web import decide

    imported = make_invoice(app, merchant, amount_kop=20000)
    by_hand = make_invoice(app, merchant, amount_kop=9900)
    ids = make_statement(app, merchant, [Payment(number="1", purpose=f"Оплата по счету № {imported.number}"),
                                         Payment(number="2", amount="99.00", purpose="за февраль")])
    assert runner.invoke(args=["jobs", "run", "sweep"]).output.strip() == "sweep: 1"  # the import's event
    with app.app_context(), db.connection_context():
        line = StatementLine.get(StatementLine.number == "2")
    assert line.outcome == "suggested"  # the amount alone: the merchant confirms it
    decide(logged_in, ids["statement_id"], line.id, action="confirm")
    paid = [e["data"]["invoice"]["number"] for e in checked(receiver, hooked) if e["type"] == "invoice.paid"]
    assert paid == [imported.number, by_hand.number]


def test_a_card_payment_for_a_cancelled_invoice_asks_for_a_refund(app, client, merchant, receiver, hooked):
    from test_payments import notify, start_payment

    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    with app.app_context(), db.connection_context():
        Invoice.update(status="cancelled").execute()
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "refund"}
    assert [e["type"] for e in checked(receiver, hooked)] == ["invoice.issued", "payment.refund_needed"]


def test_a_card_payment_sends_invoice_paid(app, client, merchant, receiver, hooked):
    from test_payments import notify, start_payment

    invoice = make_invoice(app, merchant)
    payment_id = start_payment(client, invoice)
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "paid"}
    assert notify(client, app, payment_id, invoice).get_json() == {"outcome": "duplicate"}
    events = checked(receiver, hooked)
    assert [e["type"] for e in events] == ["invoice.issued", "invoice.paid"]
    assert events[1]["data"]["invoice"]["status"] == "paid"


def test_ping_the_log_and_retry_from_the_page(app, logged_in, receiver, hooked):
    token = csrf_token(logged_in, "/settings/webhooks")
    assert logged_in.post("/settings/webhooks/test", data={"csrf_token": token}).status_code == 303
    [ping] = checked(receiver, hooked)
    assert ping["type"] == "ping" and ping["data"] == {}
    page = logged_in.get("/settings/webhooks").get_data(as_text=True)
    [row] = rows(app)
    assert f'id="delivery-{row.id}"' in page and "<code>ping</code>" in page and "доставлено" in page
    assert logged_in.post(f"/settings/webhooks/deliveries/{row.id}/retry", data={"csrf_token": token}).status_code == 303
    again = checked(receiver, hooked)
    assert len(again) == 2 and again[1]["id"] == ping["id"]


def test_the_log_shows_the_answer_code_and_error(app, logged_in, receiver, hooked):
    receiver.answer(500)
    logged_in.post("/settings/webhooks/test", data={"csrf_token": csrf_token(logged_in, "/settings/webhooks")})
    page = logged_in.get("/settings/webhooks").get_data(as_text=True)
    assert "ожидает отправки" in page and "<td class=\"num\">500</td>" in page and "HTTP 500" in page


def test_a_new_secret_replaces_the_old_one_at_once(app, logged_in, merchant, receiver, hooked):
    token = csrf_token(logged_in, "/settings/webhooks")
    response = logged_in.post("/settings/webhooks", data={"csrf_token": token, "action": "rotate"})
    [fresh] = SECRET.findall(response.get_data(as_text=True))
    assert fresh != hooked
    make_invoice(app, merchant)
    _path, headers, body = receiver.requests[-1]
    assert verify_webhook(body, headers["X-Ckbiz-Signature"], fresh)
    assert not verify_webhook(body, headers["X-Ckbiz-Signature"], hooked)


def test_changing_the_url_keeps_the_secret_and_sends_waiting_events_to_the_new_one(
        app, logged_in, merchant, receiver, hooked, runner):
    receiver.answer(500)
    make_invoice(app, merchant)
    with serve() as second:
        response = save_url(logged_in, second.url)
        assert response.status_code == 303
        sweep_now(app, runner)
        [event] = checked(second, hooked)
    assert event["type"] == "invoice.issued" and len(receiver.requests) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "[::1]", "localhost"])
def test_loopback_urls_are_refused_when_saved(app, logged_in, host):
    response = save_url(logged_in, f"http://{host}:8080/hook")
    assert response.status_code == 422
    assert "ведет во внутреннюю сеть" in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert Webhook.select().count() == 0


@pytest.mark.parametrize("url,message", [
    ("ftp://shop.example/hook", "https://"), ("https://user:pw@shop.example/hook", "имя и пароль"),
    ("https://shop.example/" + "x" * 300, "длиннее"), ("https://[::1/hook", "не адрес"),
    ("", "Укажите адрес")])
def test_malformed_urls_are_refused_with_a_message(app, logged_in, url, message):
    response = save_url(logged_in, url)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_a_loopback_url_is_refused_again_at_send_before_any_connection(app, merchant, receiver, hooked, host):
    with app.app_context(), db.connection_context():
        Webhook.update(url=f"http://{host}:{receiver.port}/hook").execute()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    make_invoice(app, merchant)
    [row] = rows(app)
    assert row.state == "pending" and "внутреннюю сеть" in row.last_error and row.answer_code is None
    assert receiver.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(app, merchant, receiver, hooked,
                                                                          monkeypatch):
    """The name is resolved once, by the check; the connection uses that address, not a new lookup."""
    lookups = []

    def stub(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    with app.app_context(), db.connection_context():
        Webhook.update(url=f"http://shop.test:{receiver.port}/hook").execute()
    monkeypatch.setattr(socket, "getaddrinfo", stub)
    make_invoice(app, merchant)
    [(_path, headers, _body)] = receiver.requests
    assert headers["Host"] == f"shop.test:{receiver.port}" and lookups.count("shop.test") == 1  # create_connection only parses the IP


def test_a_name_that_resolves_inside_at_send_time_is_refused_before_a_socket_opens(
        app, merchant, logged_in, monkeypatch):
    """DNS rebinding: public when saved, internal when sent. The suite's socket guard would fail the
    test if anything connected to 10.0.0.5."""
    answers = {"hooks.example": "93.184.216.34"}
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))])
    assert save_url(logged_in, "https://hooks.example/ckbiz").status_code == 200
    answers["hooks.example"] = "10.0.0.5"
    make_invoice(app, merchant)
    [row] = rows(app)
    assert row.state == "pending" and "внутреннюю сеть" in row.last_error


def test_another_merchants_delivery_cannot_be_retried(app, logged_in, merchant):
    stranger = other_merchant(app)
    with app.app_context(), db.connection_context():
        Webhook.create(merchant=stranger.id, url="https://hooks.example/x")
        row = Delivery.create(merchant=stranger.id, channel="webhook", kind="ping", recipient="https://hooks.example/x",
                              message_id="evt_x", state="failed")
    token = csrf_token(logged_in, "/settings/webhooks")
    assert logged_in.post(f"/settings/webhooks/deliveries/{row.id}/retry", data={"csrf_token": token}).status_code == 404
    assert rows(app)[0].state == "failed"


def stub_dns(monkeypatch, *addresses):
    """socket.getaddrinfo answering these addresses for any name."""
    def answer(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]
    monkeypatch.setattr(socket, "getaddrinfo", answer)


@pytest.mark.parametrize("address", [
    "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.255", "192.168.1.10", "169.254.169.254",
    "169.254.0.1", "127.0.0.1", "0.0.0.0", "100.64.0.1", "fc00::1", "fd12:3456::1", "fe80::1", "::1", "::",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "224.0.0.1", "240.0.0.1", "255.255.255.255", "fe80::1%1"])
def test_the_address_check_refuses_internal_ranges(monkeypatch, address):
    stub_dns(monkeypatch, address)
    with pytest.raises(webhook_targets.UnsafeTarget):
        webhook_targets.resolve("https://shop.example/hook", allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "172.32.0.1", "192.169.0.1", "2a00:1450:4010:c05::64"])
def test_the_address_check_lets_public_addresses_through(monkeypatch, address):
    stub_dns(monkeypatch, address)
    target = webhook_targets.resolve("https://shop.example:8443/hook?x=1", allow_private=False)
    assert target == ("https", "shop.example", 8443, address, "/hook?x=1")


def test_one_internal_address_among_public_ones_refuses_the_name(monkeypatch):
    stub_dns(monkeypatch, "93.184.216.34", "10.1.2.3")
    with pytest.raises(webhook_targets.UnsafeTarget):
        webhook_targets.resolve("https://shop.example/hook", allow_private=False)


def test_allow_private_lets_internal_addresses_through(monkeypatch):
    stub_dns(monkeypatch, "10.1.2.3")
    assert webhook_targets.resolve("http://intranet/hook", allow_private=True).address == "10.1.2.3"


def test_an_unknown_name_is_refused_with_a_message(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(webhook_targets.UnsafeTarget, match="не найден"):
        webhook_targets.resolve("https://nowhere.example/hook", allow_private=False)


def test_the_suite_guard_stops_a_connection_beyond_loopback():
    """The guard of conftest.py: had the address check been wrong, no test could reach the network."""
    with socket.socket() as sock, pytest.raises(pytest.fail.Exception, match="non-loopback"):
        sock.connect(("10.255.255.1", 80))


def test_a_webhook_is_leased_for_its_own_timeout_and_mail_for_mail_and_sms(app, merchant):
    """A sweep never takes a webhook still waiting for its answer as lost; a long WEBHOOK_TIMEOUT
    does not hold e-mail and SMS rows any longer."""
    from ckbiz.delivery import runner

    app.config.update(WEBHOOK_TIMEOUT=40, MAIL_TIMEOUT=2, SMS_TIMEOUT=3, DELIVERY_LEASE_SECONDS=60)
    with app.test_request_context(), db.connection_context():
        hook, mail = (Delivery.create(merchant=merchant.id, channel=channel, kind="ping", recipient="x",
                                      message_id=f"m-{channel}") for channel in ("webhook", "email"))
        before = utcnow()
        leased = {row.channel: row.lease_until - before for row in (runner.lease(hook.id), runner.lease(mail.id))}
    assert timedelta(seconds=180) <= leased["webhook"] < timedelta(seconds=182)
    assert timedelta(seconds=69) <= leased["email"] < timedelta(seconds=71)
