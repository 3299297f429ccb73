"""A bank statement of many payments imported against a merchant with many invoices."""
import random
import sqlite3
import time

from jobs import _app, _copy_database, prepared
from statement_files import OUR_ACCOUNT, Payment, statement_file

from ckbiz.domain import statements
from ckbiz.extensions import db
from ckbiz.models import Merchant


def payments(invoices, count, rng):
    """A realistic mix: most name an invoice with its amount (as our QR or a person writes it),
    some another amount, the amount alone, nothing we know, or go out of the account."""
    chosen = rng.sample(invoices, min(count, len(invoices)))
    made = []
    for i in range(count):
        number, amount_kop = chosen[i % len(chosen)]
        roll, rubles = rng.random(), f"{amount_kop / 100:.2f}"
        purpose = rng.choice(["Оплата по счету № {n}, ЛИЦ. СЧЕТ 34234234", "оплата сч. {n} НДС не облагается",
                              "по счету N{n} от 27.11.2026"]).format(n=number)
        if roll < 0.1:
            rubles = f"{(amount_kop + 100) / 100:.2f}"
        elif roll < 0.2:
            purpose = "за услуги связи"
        elif roll < 0.3:
            purpose, rubles = "возврат займа", f"{rng.randint(1, 10**7) / 100:.2f}"
        payment = Payment(number=str(100000 + i), amount=rubles, purpose=purpose)
        if 0.3 <= roll < 0.35:
            payment.payer_account, payment.payee_account = OUR_ACCOUNT, "40702810900000000001"
        made.append(payment)
    return made


def statement_import(folder, invoices, lines):
    """Seconds to import a `lines`-payment statement and to import it again (everything known),
    the file's size, and what the first import did."""
    env = prepared(folder, invoices)
    source, copy = f"{folder}/ckbiz.db", f"{folder}/statements.db"
    _copy_database(source, copy)
    with sqlite3.connect(copy) as conn:
        known = conn.execute("SELECT number, amount_kop FROM invoice WHERE status IN ('issued', 'expired')").fetchall()
    conn.close()
    raw = statement_file(payments(known, lines, random.Random(17)), date_from="01.11.2026", date_to="30.11.2026")
    app = _app(env, copy)
    # Real exports run about 700 bytes a payment: 10,000 of them pass the default 5 MB limit.
    app.config["STATEMENT_MAX_BYTES"] = max(len(raw), app.config["STATEMENT_MAX_BYTES"])
    timings, results = [], []
    with app.test_request_context(), db.connection_context():
        merchant = Merchant.select().order_by(Merchant.id).first()
        for _ in range(2):
            started = time.perf_counter()
            results.append(statements.import_statement(merchant, raw, "bench.txt", "оператор"))
            timings.append(time.perf_counter() - started)
    if results[1].known != lines:
        raise SystemExit(f"statements: the second import knew {results[1].known} of {lines} lines")
    return timings, len(raw), results[0]
