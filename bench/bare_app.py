"""The baseline: the least a Flask app can do for the same pages (raw SQL, no ORM, no auth).

BARE_DATABASE is a SQLite file (a connection per request, as Flask's tutorial does) or a
postgresql:// URL (one connection per process, as any PostgreSQL app would keep).
"""
import json
import os
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import Flask, g, redirect, render_template_string, request

DATABASE = os.environ["BARE_DATABASE"]
MERCHANT = int(os.environ.get("BARE_MERCHANT", "1"))
POSTGRES = DATABASE.startswith("postgresql://")
ROW = "{% for r in rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}, {{ r[2] }}: {{ r[3] }}</td><td>{{ r[4] }} {{ r[5] }}</td><td>{{ r[6] }}</td><td>{{ r[7] }}</td><td>{{ r[8] }}</td></tr>{% endfor %}"
SELECT = ("SELECT i.number, s.display_name, i.key_label, i.key_value, i.payer_phone, i.payer_email, "
          "i.expires_at, i.amount_kop, i.status FROM invoice i JOIN service s ON s.id = i.service_id "
          "WHERE i.merchant_id = ? {where} ORDER BY i.number DESC LIMIT 51")
NEXT_NUMBER = ("UPDATE merchant SET last_invoice_number = last_invoice_number + 1 WHERE id = ? "
               "RETURNING last_invoice_number")
INSERT_INVOICE = (
    "INSERT INTO invoice (number, token, merchant_id, service_id, payer_phone, payer_email, requisites, key_label, "
    "key_value, comment, amount_kop, commission_kop, issued_with, issued_at, expires_at, status, "
    "status_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'issued', ?) RETURNING id")
INSERT_EVENT = "INSERT INTO invoice_event (invoice_id, kind, at, note) VALUES (?, 'issued', ?, '')"
INSERT_DELIVERY = ("INSERT INTO delivery (merchant_id, invoice_id, channel, kind, recipient, state, attempts, "
                   "last_error, message_id, created_at) VALUES (?, ?, ?, 'invoice', ?, 'pending', 0, '', ?, ?)")

app = Flask(__name__)
_kept = None


def sql(text):
    """The statement in the driver's parameter style."""
    return text.replace("?", "%s") if POSTGRES else text


def db():
    global _kept
    if POSTGRES:
        if _kept is None:
            import psycopg2

            _kept = psycopg2.connect(DATABASE)
        return _kept
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE)
    return g.db


@app.teardown_appcontext
def close(exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def query(text, params):
    cursor = db().cursor()
    cursor.execute(sql(text), params)
    return cursor


@app.get("/invoices")
def history():
    q, status = request.args.get("q"), request.args.get("status")
    where, params = "", [MERCHANT]
    if q:
        where, params = "AND i.key_value >= ? AND i.key_value < ?", [MERCHANT, q, q + "\U0010ffff"]
    elif status:
        where, params = "AND i.status = ?", [MERCHANT, status]
    rows = query(SELECT.format(where=where), params).fetchall()
    if POSTGRES:
        db().rollback()
    return render_template_string(ROW, rows=rows)


@app.get("/i/<token>")
def payer(token):
    row = query("SELECT number, amount_kop, commission_kop, issued_with, requisites FROM invoice "
                "WHERE token = ?", (token,)).fetchone()
    if POSTGRES:
        db().rollback()
    return render_template_string("{{ r[0] }} {{ r[1] }} {{ r[2] }} {{ r[3] }} {{ r[4] }}", r=row)


@app.post("/invoices")
def issue():
    """An invoice, its event and two deliveries in one transaction; then a redirect."""
    form = request.form
    amount = int(Decimal(form["amount"].replace(",", ".")) * 100)
    now = datetime.now(UTC).replace(tzinfo=None)
    requisites = json.dumps([{"name": "account", "label": "ЛИЦ. СЧЕТ", "key": True, "value": form["req-account"]},
                             {"name": "fio", "label": "ФИО", "key": False, "value": form["req-fio"]}],
                            ensure_ascii=False)
    conn = db()
    cursor = conn.cursor()
    # The service's snapshot, as ckbiz copies it into every invoice (read here, as ckbiz reads the service).
    cursor.execute(sql("SELECT issued_with FROM invoice WHERE service_id = ? ORDER BY id LIMIT 1"),
                   (int(form["service"]),))
    issued_with = cursor.fetchone()[0]
    cursor.execute(sql(NEXT_NUMBER), (MERCHANT,))
    number = cursor.fetchone()[0]
    cursor.execute(sql(INSERT_INVOICE), (
        number, secrets.token_urlsafe(24), MERCHANT, int(form["service"]), form["payer_phone"], form["payer_email"],
        requisites, "ЛИЦ. СЧЕТ", form["req-account"], form["comment"], amount, amount * 15 // 1000, issued_with,
        now, now + timedelta(hours=int(form["validity_hours"])), now))
    invoice_id = cursor.fetchone()[0]
    cursor.execute(sql(INSERT_EVENT), (invoice_id, now))
    for channel, recipient in (("email", form["payer_email"]), ("sms", form["payer_phone"])):
        cursor.execute(sql(INSERT_DELIVERY), (MERCHANT, invoice_id, channel, recipient,
                                              f"<invoice.{secrets.token_urlsafe(16)}@bare>", now))
    conn.commit()
    return redirect(f"/invoices/{number}", 303)
