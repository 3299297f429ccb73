"""The baseline: the least a Flask + sqlite3 app can do for the same pages (no ORM, no auth)."""
import os
import sqlite3

from flask import Flask, g, render_template_string, request

DATABASE = os.environ["BARE_DATABASE"]
MERCHANT = int(os.environ.get("BARE_MERCHANT", "1"))
ROW = "{% for r in rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}, {{ r[2] }}: {{ r[3] }}</td><td>{{ r[4] }} {{ r[5] }}</td><td>{{ r[6] }}</td><td>{{ r[7] }}</td><td>{{ r[8] }}</td></tr>{% endfor %}"
SELECT = ("SELECT i.number, s.display_name, i.key_label, i.key_value, i.payer_phone, i.payer_email, "
          "i.expires_at, i.amount_kop, i.status FROM invoice i JOIN service s ON s.id = i.service_id "
          "WHERE i.merchant_id = ? {where} ORDER BY i.number DESC LIMIT 51")

app = Flask(__name__)


def db():
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE)
    return g.db


@app.teardown_appcontext
def close(exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


@app.get("/invoices")
def history():
    q, status = request.args.get("q"), request.args.get("status")
    where, params = "", [MERCHANT]
    if q:
        where, params = "AND i.key_value >= ? AND i.key_value < ?", [MERCHANT, q, q + "\U0010ffff"]
    elif status:
        where, params = "AND i.status = ?", [MERCHANT, status]
    rows = db().execute(SELECT.format(where=where), params).fetchall()
    return render_template_string(ROW, rows=rows)


@app.get("/i/<token>")
def payer(token):
    row = db().execute("SELECT number, amount_kop, commission_kop, issued_with, requisites FROM invoice "
                       "WHERE token = ?", (token,)).fetchone()
    return render_template_string("{{ r[0] }} {{ r[1] }} {{ r[2] }} {{ r[3] }} {{ r[4] }}", r=row)
