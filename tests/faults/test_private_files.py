"""Secrets on disk: a fresh install run as deployed (init-db, demo, gunicorn, the worker) under
the usual umask 022 leaves its instance folder 0700 and every file it wrote there 0600 — the
SQLite database with its WAL and SHM files, the queue, sms.log with temporary passwords, the
outbox e-mails, the generated secrets and the font copies. sms.log keeps links whole."""
import os
import re
import stat

from faultkit import Browser
from conftest import PASSWORD, free_port
from live import flask, wait_for, web, worker

PHONE = "9161234567"


def fresh_install(tmp_path):
    """The environment of an install whose instance folder, database and queue are all defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKBIZ_")}
    port = free_port()
    env.update({"CKBIZ_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONUNBUFFERED": "1",
                "CKBIZ_BASE_URL": f"http://127.0.0.1:{port}"})
    return env, port


def modes(folder):
    """{path relative to folder: permission bits} of everything under it, the folder included."""
    found = {".": stat.S_IMODE(os.stat(folder).st_mode)}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = stat.S_IMODE(os.stat(path).st_mode)
    return found


def test_a_fresh_install_keeps_its_instance_folder_private(tmp_path):
    env, port = fresh_install(tmp_path)
    previous = os.umask(0o022)  # what a service user usually starts with; the children inherit it
    try:
        flask(env, "init-db")
        flask(env, "demo", "--phone", PHONE, "--password", PASSWORD, "--email", "shop@example.com")
        with web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log"):
            browser = Browser(f"http://127.0.0.1:{port}")
            browser.login()
            service = re.search(r'value="(\d+)"[^>]*>\s*Демо ПА', browser.get("/invoices/new").text).group(1)
            response = browser.issue(service, email="payer@example.com", phone="9026376577")
            assert response.status == 303, response.text
            number = response.headers["Location"].rsplit("/", 1)[1]
            with browser.opener.open(f"{browser.base}/invoices/{number}.pdf", timeout=15) as pdf:
                assert pdf.read().startswith(b"%PDF")  # the first PDF copies the fonts
            outbox = tmp_path / "instance" / "outbox"
            sms_log = tmp_path / "instance" / "sms.log"
            wait_for(lambda: outbox.is_dir() and any(outbox.iterdir()) and sms_log.exists(),
                     timeout=30, what="the e-mail in the outbox and the SMS in sms.log")
    finally:
        os.umask(previous)
    found = modes(tmp_path / "instance")
    assert found["."] == 0o700
    for expected in ("ckbiz.db", "huey.db", "secret_key", "sms.log", "outbox", "fonts"):
        assert expected in found, expected
    assert any(name.endswith(".eml") for name in found) and any(name.endswith(".ttf") for name in found)
    assert {name: mode for name, mode in found.items() if name != "." and mode & 0o077} == {}
    link = re.search(r"http://127\.0\.0\.1:\d+/i/[A-Za-z0-9_-]{16,}", sms_log.read_text(encoding="utf-8"))
    assert link, "the console SMS log must keep the payer's link whole"
