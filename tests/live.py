"""Real processes for integration tests: the web app under gunicorn and the queue worker."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

from ckbiz import database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


@contextmanager
def database_of_its_own(name, folder):
    """The database for processes a test starts: a fresh schema `name` on the run's PostgreSQL
    (CKBIZ_TEST_DATABASE_URL), dropped afterwards; without one, a SQLite file in `folder`."""
    pg_url = os.environ.get("CKBIZ_TEST_DATABASE_URL", "")
    if not pg_url:
        yield f"sqlite:///{folder}/ckbiz.db"
        return
    admin = database.connect(pg_url)
    with admin.connection_context():
        admin.execute_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        admin.execute_sql(f"CREATE SCHEMA {name}")
    try:
        yield f"{pg_url}?options=-c%20search_path%3D{name}"
    finally:
        with admin.connection_context():
            admin.execute_sql(f"DROP SCHEMA {name} CASCADE")


def environment(instance, database_url, huey_url, **settings):
    """The environment a ckbiz process reads its configuration from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKBIZ_")}
    env.update({"CKBIZ_INSTANCE_PATH": str(instance), "CKBIZ_DATABASE_URL": database_url,
                "CKBIZ_HUEY_URL": huey_url, "CKBIZ_SECRET_KEY": "live-secret",
                "CKBIZ_PAYMENT_SECRET": "live-payment-secret", "PYTHONUNBUFFERED": "1"})
    env.update({f"CKBIZ_{k}": str(v) for k, v in settings.items()})
    return env


def flask(env, *args, **kwargs):
    """Run one `flask --app app` command to completion."""
    return subprocess.run([os.path.join(BIN, "flask"), "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, **kwargs)


class Process:
    """A background process that is stopped (and reaped) when the block ends."""

    def __init__(self, args, env, log_path):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGINT, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def worker(env, log_path, *args):
    """Start `flask --app app worker`."""
    return Process([os.path.join(BIN, "flask"), "--app", "app", "worker", *args], env, log_path)


def web(env, port, log_path, workers=1):
    """Start gunicorn on 127.0.0.1:port and wait until /healthz answers."""
    process = Process([os.path.join(BIN, "gunicorn"), "--workers", str(workers), "--bind",
                       f"127.0.0.1:{port}", "app:app"], env, log_path)
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=30, what="web app")
    return process


def _answers(url):
    """True when the URL answers at all."""
    try:
        urllib.request.urlopen(url, timeout=1).read()
        return True
    except OSError:
        return False


def wait_for(predicate, timeout=20.0, what="condition", interval=0.1):
    """Poll until predicate() is true; fail with a clear message after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
