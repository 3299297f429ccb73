"""SQLite held by a long write: requests wait, then a clear 503, never a 500 or a half-written invoice."""
import sqlite3

from ckbiz import create_app, database, demo
from ckbiz.domain import api_keys
from ckbiz.extensions import db, huey
from ckbiz.models import Delivery, Invoice, Service
from conftest import PASSWORD, AuthActions, csrf_token


def test_a_long_write_elsewhere_gives_503_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(tmp_path / "instance"))
    path = tmp_path / "locked.db"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{path}",
                      "DATABASE_TIMEOUT": 1})
    huey.immediate = True
    database.migrate(db)
    with app.app_context(), db.connection_context():
        merchant, _ = demo.ensure_merchant("9161234567", PASSWORD)
        service_id = Service.of(merchant).first().id
    client = app.test_client()
    AuthActions(client).login()
    data = {"csrf_token": csrf_token(client, "/invoices/new"), "service": str(service_id),
            "payer_email": "payer@example.com", "req-account": "1", "req-fio": "Ф", "validity_hours": "5",
            "amount": "10"}
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = client.post("/invoices", data=data)
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503 and "Сервис временно недоступен" in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"
    with app.app_context(), db.connection_context():
        assert Invoice.select().count() == 0 and Delivery.select().count() == 0
    assert client.post("/invoices", data=data).status_code == 303
    huey.immediate = False


def test_the_api_answers_a_locked_database_with_a_503_problem(tmp_path, monkeypatch):
    """The merchant's systems read application/problem+json, not the 503 page people see."""
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(tmp_path / "instance"))
    path = tmp_path / "locked.db"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{path}",
                      "DATABASE_TIMEOUT": 1})
    database.migrate(db)
    with app.app_context(), db.connection_context():
        merchant, _ = demo.ensure_merchant("9161234567", PASSWORD)
        key = api_keys.create(merchant, "Магазин", "Владелец")[1]
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = app.test_client().get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503 and response.content_type == "application/problem+json"
    assert response.json["title"].startswith("Сервис временно недоступен") and response.headers["Retry-After"] == "5"
