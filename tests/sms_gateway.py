"""A fake SMS gateway on loopback that speaks SMS.ru and SMSC, and the answers it is scripted with.

The unit tests of the SMS backends (tests/test_sms.py) and the fault tests of a real worker
(tests/faults/test_sms_gateway.py) both talk to it; the `provider` fixture in conftest.py
starts one per test.
"""
import json
import threading
import time
from collections import deque
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

API_KEY = "A1B2C3D4-SECRET-KEY-0000"  # a secret: no error, log line or page may show it
PHONE = "9255070602"  # the payer's phone as ckbiz stores it
NUMBER = "79255070602"  # …and as the gateway is asked to send to it
PATHS = ("/sms/send", "/sys/send.php")


class FakeProvider:
    """Recorded requests and a queue of scripted answers for the handler."""

    def __init__(self):
        """No requests yet, nothing scripted."""
        self.requests = []
        self.script = deque()
        self.release = threading.Event()  # ends every hang
        self.let_go = threading.Event()  # sends every held answer
        self.url = None

    def reply(self, body, status=200):
        """Queue an answer: a dict is sent as JSON, a str as it is."""
        self.script.append(("answer", status, body))

    def hang(self):
        """Queue a request that is read but never answered until teardown."""
        self.script.append(("hang", None, None))

    def hold(self, body, status=200):
        """Queue an answer sent only once `let_go` is set: a gateway exactly as slow as the test needs."""
        self.script.append(("hold", status, body))


class Handler(BaseHTTPRequestHandler):
    """Records each POST and plays the next scripted answer."""

    def do_POST(self):
        """Record the form and when it came, then answer, hang, hold or 404 as scripted."""
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        fake.requests.append({
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "fields": {key: values[0] for key, values in form.items()},
            "repeated": [key for key, values in form.items() if len(values) > 1],
            "at": time.time(),
        })
        if self.path not in PATHS:
            return self._answer(404, {"error": "no such method"})
        kind, status, body = fake.script.popleft() if fake.script else ("answer", 500, "empty script")
        if kind == "hang":
            fake.release.wait(30)
            return
        if kind == "hold":
            fake.let_go.wait(30)
        self._answer(status, body)

    def _answer(self, status, body):
        """Send status and body (a dict as JSON)."""
        data = (json.dumps(body, ensure_ascii=False) if isinstance(body, dict) else body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        """Keep test output quiet."""
        pass


@contextmanager
def serve():
    """A FakeProvider listening on 127.0.0.1 until the block ends."""
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.fake = fake
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval keeps shutdown() from adding half a second per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        fake.let_go.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def smsru_ok(sms_id="000000-10000000"):
    """SMS.ru's answer when it accepted the SMS to NUMBER."""
    return {"status": "OK", "status_code": 100, "balance": 4122.56,
            "sms": {NUMBER: {"status": "OK", "status_code": 100, "sms_id": sms_id}}}


def smsru_number_error(code, text="Ошибка"):
    """SMS.ru's answer when the request was fine but NUMBER was refused."""
    return {"status": "OK", "status_code": 100, "balance": 4122.56,
            "sms": {NUMBER: {"status": "ERROR", "status_code": code, "status_text": text}}}


def smsru_error(code, text="Ошибка"):
    """SMS.ru's answer when it refused the whole request."""
    return {"status": "ERROR", "status_code": code, "status_text": text}
