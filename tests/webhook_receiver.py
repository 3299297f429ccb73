"""A merchant's webhook endpoint on loopback: it records every request and plays scripted answers
(a status, or a silence longer than WEBHOOK_TIMEOUT), and acknowledges an event it checked."""
import json
import threading
import time
from collections import deque
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """What came (path, headers, raw body) and what to answer next; 200 when nothing is scripted."""

    def __init__(self):
        self.requests = []
        self.script = deque()
        self.url = None
        self.port = None

    def answer(self, *statuses):
        """Queue answers: an HTTP status, or "silence" (no answer until the client gave up, then 500)."""
        self.script.extend(statuses)

    def events(self):
        """The JSON bodies received, in order."""
        return [json.loads(body) for _path, _headers, body in self.requests]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        receiver.requests.append((self.path, dict(self.headers), body))
        status = receiver.script.popleft() if receiver.script else 200
        if status == "silence":
            time.sleep(self.server.silence)
            status = 500
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        # An error page as a framework's debug mode would send: long, most of it useless in a log.
        answer = ("принято" if status < 300 else f"<html><head><title>{status} Internal Server Error</title></head>"
                  "<body><h1>Internal Server Error</h1>" + "<p>Traceback (most recent call last): …</p>" * 40
                  + "</body></html>").encode()
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        try:
            self.wfile.write(answer)
        except OSError:  # the sender gave up waiting
            pass

    def log_message(self, *args):
        pass


@contextmanager
def serve(silence=1.5):
    """A receiver on 127.0.0.1 at a free port, stopped afterwards."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.receiver, server.silence = receiver, silence
    receiver.port = server.server_address[1]
    receiver.url = f"http://127.0.0.1:{receiver.port}/ckbiz/hook?shop=1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
