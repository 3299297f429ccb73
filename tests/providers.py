"""Fake payment providers on loopback: T-Bank acquiring v2 and ЮKassa API v3, each with its API
and its payment page on one origin, as the documentation describes them (no real account here).

- T-Bank (https://developer.tbank.ru/eacq/api/init, …/getstate, …/intro/developer/token,
  …/intro/developer/notification): POST /v2/Init and /v2/GetState, JSON, every request signed
  with Token; PaymentURL leads to /new/<PaymentId>; paying or declining there posts the signed
  notification to NotificationURL and sends the payer to SuccessURL or FailURL.
- ЮKassa (https://yookassa.ru/developers/api, …/using-api/basics, …/using-api/webhooks): POST
  /v3/payments with Basic auth and Idempotence-Key (the same key replays the first answer),
  GET /v3/payments/<id>; confirmation_url leads to /checkout/<id>; paying or declining there
  posts the unsigned notification {"type", "event", "object"} to `notify_url` and sends the
  payer to the return_url.

The fake checks what the provider would check (the Token, the credentials, the key), so a
request ckbiz gets wrong fails here as it would there. Scripted failures: `fail_next(status)`
answers the next API request with that status, `hang_next()` never answers it in time.
"""
import base64
import hashlib
import html
import itertools
import json
import threading
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TERMINAL_KEY = "1700000000000DEMO"
TBANK_PASSWORD = "tbank-terminal-password"  # a secret: no log line or page may show it
SHOP_ID = "100500"
YOOKASSA_SECRET = "test_yookassa-secret-key"


class FakeProvider:
    """The threaded server and what every fake shares: recorded requests and scripted failures."""

    def __init__(self):
        self.requests = []
        self.script = []
        self.release = threading.Event()  # ends every hang at teardown
        self.lose_notifications = False  # the provider's notification never arrives
        self.notification_delay = 0  # seconds the notification trails the payer's return
        self.notifications = []  # (url, body, answer status) the payment page sent
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.fake = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_next(self, status=500):
        self.script.append(("fail", status))

    def hang_next(self):
        self.script.append(("hang", None))

    def api_requests(self, path):
        return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def scripted(self):
        """The next scripted failure for an API request, if any: (status, body) or None to hang."""
        if not self.script:
            return False
        kind, status = self.script.pop(0)
        if kind == "hang":
            self.release.wait(30)
            return None
        return status, {"type": "error", "code": "internal_server_error", "description": "scripted"}

    def payment_page(self, method, path):
        """GET /<page>/<id>: the card page; POST …/pay or …/decline: the payer's choice. None elsewhere."""
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != self.page or parts[1] not in self.payments:
            return None
        payment = self.payments[parts[1]]
        if method == "GET":
            title = f"{self.title}: {self.amount_text(payment)}"
            return 200, HTML, (f"<!doctype html><html lang='ru'><meta charset='utf-8'><title>{html.escape(title)}</title>"
                               f"<h1>{html.escape(self.title)}</h1><p class='amount'>{html.escape(self.amount_text(payment))}</p>"
                               f"<form method='post' action='{path}/pay'><button>Оплатить</button></form>"
                               f"<form method='post' action='{path}/decline'><button>Отказаться</button></form></html>")
        return self.finish(payment, self.outcomes[parts[2] == "pay"])

    def send_notification(self, url, body):
        """POST the notification as the provider's server would (unless it is to be lost)."""
        if self.lose_notifications or not url:
            return
        if self.notification_delay:
            threading.Timer(self.notification_delay, self._post_notification, (url, body)).start()
        else:
            self._post_notification(url, body)

    def _post_notification(self, url, body):
        post = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                      headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(post, timeout=10) as response:
                answer = (response.status, response.read().decode())
        except urllib.error.HTTPError as exc:
            answer = (exc.code, exc.read().decode())
        except OSError as exc:  # the shop is down: the real provider would try again later
            answer = (None, str(exc))
        self.notifications.append((url, body, answer))


class Handler(BaseHTTPRequestHandler):
    """Hands each request to the fake as (method, path, headers, body)."""

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def _answer(self, method):
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        answer = fake.handle(method, self.path, self.headers, raw)
        if answer is None:  # hung until the client gave up
            return
        status, headers, body = answer
        payload = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode())
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


JSON = {"Content-Type": "application/json; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def tbank_token(fields, password):
    """The fake's own reading of T-Bank's token rule (not ckbiz's function)."""
    values = {k: v for k, v in fields.items() if k != "Token" and not isinstance(v, (dict, list))}
    values["Password"] = password
    text = "".join(json.dumps(values[k]) if isinstance(values[k], bool) else str(values[k])
                   for k in sorted(values))
    return hashlib.sha256(text.encode()).hexdigest()


class FakeTBank(FakeProvider):
    """T-Bank's acquiring API v2 and its payment form."""

    page, title = "new", "Т-Банк: оплата заказа"
    outcomes = {True: "CONFIRMED", False: "REJECTED"}

    @staticmethod
    def amount_text(payment):
        return f"{payment['Amount'] // 100}.{payment['Amount'] % 100:02d} RUB"

    def __init__(self):
        super().__init__()
        self.api_url = self.url + "/v2"
        self.payments = {}  # PaymentId -> dict
        self.ids = itertools.count(3_093_639_567)

    def handle(self, method, path, headers, raw):
        if path.startswith("/v2/"):
            data = json.loads(raw or b"{}")
            self.requests.append({"path": path, "json": data})
            failure = self.scripted()
            if failure is None:
                return None
            if failure:
                return failure[0], JSON, failure[1]
            if data.get("TerminalKey") != TERMINAL_KEY or data.get("Token") != tbank_token(data, TBANK_PASSWORD):
                return 200, JSON, {"Success": False, "ErrorCode": "204", "Message": "Неверный токен"}
            return 200, JSON, getattr(self, path[4:].lower())(data)
        return self.payment_page(method, path) or (404, JSON, {"Success": False, "ErrorCode": "404"})

    def init(self, data):
        receipt = data.get("Receipt")
        if receipt and sum(item["Amount"] for item in receipt["Items"]) != data["Amount"]:
            # "Amount … должен быть равен сумме всех параметров Amount, переданных в объекте Items"
            return {"Success": False, "ErrorCode": "308", "Message": "Неверная сумма в чеке"}
        same = [p for p in self.payments.values() if p["OrderId"] == data["OrderId"]]
        payment = same[0] if same else {
            "PaymentId": str(next(self.ids)), "OrderId": data["OrderId"], "Amount": data["Amount"],
            "Status": "NEW", "NotificationURL": data.get("NotificationURL"),
            "SuccessURL": data.get("SuccessURL"), "FailURL": data.get("FailURL")}
        self.payments[payment["PaymentId"]] = payment
        return {"Success": True, "ErrorCode": "0", "TerminalKey": TERMINAL_KEY, "Status": payment["Status"],
                "PaymentId": payment["PaymentId"], "OrderId": payment["OrderId"], "Amount": payment["Amount"],
                "PaymentURL": f"{self.url}/new/{payment['PaymentId']}"}

    def getstate(self, data):
        payment = self.payments.get(str(data.get("PaymentId")))
        if payment is None:
            return {"Success": False, "ErrorCode": "7", "Message": "Неверный статус транзакции"}
        return {"Success": True, "ErrorCode": "0", "Message": "OK", "TerminalKey": TERMINAL_KEY,
                "Status": payment["Status"], "PaymentId": payment["PaymentId"], "OrderId": payment["OrderId"],
                "Amount": payment["Amount"]}

    def cancel(self, data):
        """A whole-amount Cancel of a CONFIRMED payment is a refund; of anything else, an error."""
        payment = self.payments.get(str(data.get("PaymentId")))
        if payment is None or payment["Status"] != "CONFIRMED" or data.get("Amount") != payment["Amount"]:
            return {"Success": False, "ErrorCode": "7", "Message": "Неверный статус транзакции"}
        payment["Status"] = "REFUNDED"
        return {"Success": True, "ErrorCode": "0", "TerminalKey": TERMINAL_KEY, "Status": "REFUNDED",
                "PaymentId": payment["PaymentId"], "OrderId": payment["OrderId"], "OriginalAmount": payment["Amount"],
                "NewAmount": 0}

    def notification(self, payment_id, status=None, password=TBANK_PASSWORD, **changes):
        """The signed notification T-Bank posts for a payment (its current status unless told)."""
        payment = self.payments[payment_id]
        status = status or payment["Status"]
        body = {"TerminalKey": TERMINAL_KEY, "OrderId": payment["OrderId"], "Success": status == "CONFIRMED",
                "Status": status, "PaymentId": int(payment["PaymentId"]), "ErrorCode": "0",
                "Amount": payment["Amount"], "CardId": 322264, "Pan": "430000******0777", "ExpDate": "1130",
                **changes}
        body["Token"] = tbank_token(body, password)
        return body

    def finish(self, payment, status):
        payment["Status"] = status
        self.send_notification(payment["NotificationURL"], self.notification(payment["PaymentId"]))
        target = payment["SuccessURL"] if status == "CONFIRMED" else payment["FailURL"]
        return 303, {"Location": target}, ""


class FakeYooKassa(FakeProvider):
    """ЮKassa's API v3 and its payment page."""

    page, title = "checkout", "ЮKassa: оплата"
    outcomes = {True: "succeeded", False: "canceled"}

    @staticmethod
    def amount_text(payment):
        return f"{payment['amount']['value']} ₽"

    def __init__(self, notify_url=None):
        super().__init__()
        self.api_url = self.url + "/v3"
        self.notify_url = notify_url  # set in ЮKassa's cabinet, not in the request
        self.payments = {}
        self.keys = {}  # Idempotence-Key -> the first answer

    def handle(self, method, path, headers, raw):
        if path.startswith("/v3/"):
            data = json.loads(raw) if raw else None
            self.requests.append({"path": path, "method": method, "json": data,
                                  "key": headers.get("Idempotence-Key"), "auth": headers.get("Authorization")})
            failure = self.scripted()
            if failure is None:
                return None
            if failure:
                return failure[0], JSON, failure[1]
            expected = "Basic " + base64.b64encode(f"{SHOP_ID}:{YOOKASSA_SECRET}".encode()).decode()
            if headers.get("Authorization") != expected:
                return 401, JSON, {"type": "error", "code": "invalid_credentials"}
            if method == "POST" and path == "/v3/payments":
                return self.create(headers.get("Idempotence-Key"), data)
            if method == "POST" and path == "/v3/refunds":
                return self.refund(headers.get("Idempotence-Key"), data)
            payment = self.payments.get(path.rsplit("/", 1)[1])
            if method == "GET" and path.startswith("/v3/payments/") and payment:
                return 200, JSON, payment
            return 404, JSON, {"type": "error", "code": "not_found"}
        return self.payment_page(method, path) or (404, JSON, {"type": "error", "code": "not_found"})

    def create(self, key, data):
        if not key:
            return 400, JSON, {"type": "error", "code": "invalid_request", "parameter": "Idempotence-Key"}
        if key in self.keys:
            return 200, JSON, self.keys[key]
        receipt = data.get("receipt")
        if receipt and sum(Decimal(i["amount"]["value"]) * Decimal(i["quantity"]) for i in receipt["items"]) \
                != Decimal(data["amount"]["value"]):
            return 400, JSON, {"type": "error", "code": "invalid_request", "parameter": "receipt"}
        payment_id = str(uuid.uuid4())
        payment = {
            "id": payment_id, "status": "pending", "paid": False, "amount": data["amount"],
            "confirmation": {"type": "redirect", "return_url": data["confirmation"]["return_url"],
                             "confirmation_url": f"{self.url}/checkout/{payment_id}"},
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "description": data.get("description", ""), "metadata": data.get("metadata", {}),
            "recipient": {"account_id": SHOP_ID, "gateway_id": "100700"}, "refundable": False, "test": True}
        self.payments[payment_id] = payment
        self.keys[key] = json.loads(json.dumps(payment))
        return 200, JSON, payment

    def refund(self, key, data):
        """POST /refunds: the same key replays the first answer; a refunded payment is refunded no more."""
        if not key:
            return 400, JSON, {"type": "error", "code": "invalid_request", "parameter": "Idempotence-Key"}
        if key in self.keys:
            return 200, JSON, self.keys[key]
        payment = self.payments.get(data.get("payment_id"))
        if payment is None or payment["status"] != "succeeded" or payment.get("refunded_amount"):
            return 400, JSON, {"type": "error", "code": "invalid_request", "description": "payment is not refundable"}
        payment["refunded_amount"] = data["amount"]
        refund = {"id": str(uuid.uuid4()), "payment_id": payment["id"], "status": "succeeded",
                  "amount": data["amount"], "created_at": payment["created_at"]}
        self.keys[key] = refund
        return 200, JSON, refund

    def notification(self, payment_id, event=None, **changes):
        """The notification ЮKassa posts: the payment object as it is now (or as forged)."""
        payment = {**self.payments[payment_id], **changes}
        return {"type": "notification", "event": event or f"payment.{payment['status']}", "object": payment}

    def finish(self, payment, status):
        payment.update(status=status, paid=status == "succeeded")
        if status == "canceled":
            payment["cancellation_details"] = {"party": "payment_network", "reason": "card_expired"}
        self.send_notification(self.notify_url, self.notification(payment["id"]))
        return 303, {"Location": payment["confirmation"]["return_url"]}, ""


@contextmanager
def running(fake_class, **options):
    """A fake provider for the length of the block."""
    fake = fake_class(**options)
    try:
        yield fake
    finally:
        fake.close()
