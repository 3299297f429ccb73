"""The database opened read-only (SQLite mode=ro, PostgreSQL default_transaction_read_only;
file modes prove nothing when tests run as root): pages still read, every write answers a
clear Russian 503 and leaves nothing half-written."""
from datetime import timedelta

from faultkit import Browser, queue, service_id  # noqa: F401
from ckbiz.database import utcnow
from ckbiz.extensions import db
from ckbiz.models import MODELS, Invoice, UserSession
from conftest import PASSWORD, free_port
from factories import make_invoice
from live import environment, web

UNAVAILABLE = "Сервис временно недоступен"


def read_only(url):
    """The same database, opened so that it refuses every write."""
    if url.startswith("sqlite"):
        return url + "?mode=ro"
    return url + ("&" if "?" in url else "?") + "options=-c%20default_transaction_read_only%3Don"


def snapshot(app):
    """Every row of every table, to prove nothing changed."""
    with app.app_context(), db.connection_context():
        return {m._meta.table_name: sorted(tuple(r.values()) for r in m.select().dicts()) for m in MODELS}


def test_read_only_database_reads_and_refuses_writes_with_503(app, merchant, queue, tmp_path):
    """A merchant logged in before the maintenance window keeps reading; logging in (a new
    session row) and every change answer 503."""
    invoice = make_invoice(app, merchant, email="payer@example.com")
    service = service_id(app, merchant)
    writable, port = free_port(), free_port()
    with web(environment(app.instance_path, app.config["DATABASE_URL"], queue,
                         BASE_URL=f"http://127.0.0.1:{writable}"), writable, tmp_path / "writable.log"):
        browser = Browser(f"http://127.0.0.1:{writable}")
        browser.login()
    # Unused for more than a minute: the first page read-only would record when it was seen.
    with app.app_context(), db.connection_context():
        UserSession.update(last_seen_at=utcnow() - timedelta(minutes=5)).execute()
    env = environment(app.instance_path, read_only(app.config["DATABASE_URL"]), queue,
                      BASE_URL=f"http://127.0.0.1:{port}")
    before = snapshot(app)
    with web(env, port, tmp_path / "web.log"):
        browser.base = f"http://127.0.0.1:{port}"  # the same cookie jar: the session from before
        stranger = Browser(browser.base)
        refused = stranger.post("/login", {"phone": "9161234567", "password": PASSWORD,
                                           "csrf_token": stranger.csrf("/login")})
        assert refused.status == 503 and UNAVAILABLE in refused.text
        for path in ("/invoices/new", "/invoices", f"/invoices/{invoice.number}", "/settings",
                     f"/i/{invoice.token}", "/invoices.csv", "/healthz"):
            assert browser.get(path).status == 200, path

        token = browser.csrf("/invoices/new")
        issue = {"csrf_token": token, "service": str(service), "payer_email": "new@example.com",
                 "payer_phone": "9026376577", "req-account": "77", "req-fio": "Ф", "validity_hours": "5",
                 "amount": "10"}
        writes = [
            ("/invoices", issue),
            (f"/invoices/{invoice.number}/cancel", {"csrf_token": token, "confirm": "1"}),
            (f"/invoices/{invoice.number}/remind", {"csrf_token": token}),
            (f"/invoices/{invoice.number}/send", {"csrf_token": token, "email": "other@example.com"}),
            (f"/invoices/{invoice.number}/repeat", {"csrf_token": token}),
            (f"/invoices/{invoice.number}/mark-paid", {"csrf_token": token}),
            (f"/i/{invoice.token}/pay", {"csrf_token": browser.csrf(f"/i/{invoice.token}")}),
        ]
        for path, data in writes:
            response = browser.post(path, data)
            assert response.status == 503, (path, response.status, response.text[:300])
            assert UNAVAILABLE in response.text and response.headers["Retry-After"] == "5", path
        htmx = browser.request(f"/invoices/{invoice.number}/remind", {"csrf_token": token},
                               headers={"HX-Request": "true", "X-CSRFToken": token})
        assert htmx.status == 503 and UNAVAILABLE in htmx.text
        assert htmx.headers["Content-Type"].startswith("text/plain")
        assert (browser.get(f"/invoices/{invoice.number}").status, browser.get("/invoices/new").status) == (200, 200)
    assert snapshot(app) == before
    with app.app_context(), db.connection_context():
        assert Invoice.get_by_id(invoice.id).status == "issued"

