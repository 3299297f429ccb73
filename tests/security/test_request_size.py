"""Request bodies are capped: MAX_CONTENT_LENGTH for every form (a Russian page, or text for htmx),
PAYMENT_CALLBACK_MAX_BYTES for the anonymous payment callback (JSON), read no further than that."""
import io
import json

from conftest import csrf_token
from security_helpers import table_counts


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes that remembers how much of it the app read."""

    def __init__(self, size):
        self.size, self.left, self.read_bytes, self.position = size, size, 0, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=0):
        """Werkzeug's test client measures the body this way; nothing is read by it."""
        self.position = self.size if whence == 2 else offset
        return self.position

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        self.read_bytes += n
        return n


def test_a_form_past_the_limit_gets_a_russian_413_and_changes_nothing(app, logged_in):
    counts = table_counts(app)
    token = csrf_token(logged_in, "/invoices/new")
    response = logged_in.post("/invoices", data={"csrf_token": token, "comment": "я" * 600_000})
    assert response.status_code == 413
    assert "Слишком большой запрос" in response.get_data(as_text=True)
    assert table_counts(app) == counts


def test_htmx_past_the_limit_gets_a_short_text(app, logged_in):
    token = csrf_token(logged_in, "/invoices/new")
    response = logged_in.post("/invoices", data={"csrf_token": token, "comment": "x" * 1_100_000},
                              headers={"HX-Request": "true"})
    assert response.status_code == 413
    assert response.get_data(as_text=True) == "Слишком много данных в одной форме."


def test_an_oversized_callback_is_refused_before_its_body_is_read(app, client):
    body = CountingStream(50_000_000)
    response = client.post("/payments/demo/callback", input_stream=body,
                           headers={"Content-Type": "application/json", "Content-Length": "50000000"})
    assert response.status_code == 413
    assert response.get_json() == {"error": "request body too large"}
    assert body.read_bytes == 0


def test_a_chunked_callback_is_read_no_further_than_the_cap(app, client):
    body = CountingStream(50_000_000)
    response = client.post("/payments/demo/callback", input_stream=body,
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})  # as gunicorn says
    assert response.status_code == 413
    assert response.get_json() == {"error": "request body too large"}
    assert 0 < body.read_bytes <= app.config["PAYMENT_CALLBACK_MAX_BYTES"] + 65_536


def test_a_callback_within_the_cap_is_still_checked_as_before(app, client):
    response = client.post("/payments/demo/callback", data=json.dumps({"event_id": "x"}),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
