"""Slow clients against the default server configuration (gunicorn.conf.py, read by gunicorn from
the checkout as `make run` starts it): twenty sockets dribbling header bytes do not stop
/healthz from answering within a second."""
import socket
import threading
import time
import urllib.request

from conftest import free_port
from live import environment, web

SLOW_CLIENTS = 20


def dribble(sockets, stop):
    """Send each socket one more header byte every half second, never ending the headers."""
    while not stop.is_set():
        for sock in sockets:
            try:
                sock.sendall(b"a")
            except OSError:
                pass
        stop.wait(0.5)


def healthz_seconds(port):
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        assert response.status == 200
    return time.monotonic() - started


def test_twenty_slow_clients_leave_healthz_answering_within_a_second(app, tmp_path):
    port = free_port()
    env = environment(app.instance_path, app.config["DATABASE_URL"], "sqlite:///" + str(tmp_path / "huey.db"))
    with web(env, port, tmp_path / "web.log", workers=2):
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(SLOW_CLIENTS)]
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        stop = threading.Event()
        sender = threading.Thread(target=dribble, args=(sockets, stop), daemon=True)
        sender.start()
        try:
            time.sleep(2)  # every slow client accepted and holding whatever it can hold
            waits = [healthz_seconds(port) for _ in range(10)]
        finally:
            stop.set()
            sender.join()
            for sock in sockets:
                sock.close()
    assert max(waits) < 1.0, waits
