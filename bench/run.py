"""Benchmarks against a bare Flask + sqlite3 baseline, on the same data, in one run.

python bench/run.py [--invoices N] [--seconds S]: builds (or reuses) a database of N
invoices over ten merchants, starts ckbiz and the bare app under gunicorn with 2 workers,
and loads each page with wrk. Prints a Markdown table: requests/s, p50, p99, ratio.
"""
import argparse
import os
import re
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from live import BIN, Process, environment, flask, wait_for  # noqa: E402

PASSWORD = "bench password"


def build(folder, invoices):
    """A migrated database with the demo merchants and `invoices` invoices (kept between runs)."""
    env = environment(folder, f"sqlite:///{folder}/ckbiz.db", "")
    flask(env, "init-db")
    flask(env, "demo", "--password", PASSWORD, "--merchants", "10", "--invoices", str(invoices))
    return env


def gunicorn(env, module, port, log):
    """gunicorn with 2 sync workers, as the goals are stated."""
    process = Process([os.path.join(BIN, "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                       module], env, log)
    wait_for(lambda: _up(port), timeout=30, what=module)
    return process


def _up(port):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/i/x", timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def login(port):
    """The session cookie of the first demo merchant, through the real login form."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"http://127.0.0.1:{port}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"phone": "9000000000", "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"http://127.0.0.1:{port}/login", data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url, seconds, cookie=None):
    """Requests/s, p50 and p99 (ms) from wrk with 8 connections on 2 threads."""
    args = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url]
    if cookie:
        args[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    return rps, _ms(out, "50%"), _ms(out, "99%")


def _ms(out, label):
    """A latency percentile from wrk's output, in milliseconds."""
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--data", default=os.path.join(HERE, ".data"))
    args = parser.parse_args()
    folder = os.path.join(args.data, str(args.invoices))
    os.makedirs(folder, exist_ok=True)
    env = build(folder, args.invoices)
    conn = sqlite3.connect(f"{folder}/ckbiz.db")
    merchant, = conn.execute("SELECT id FROM merchant WHERE phone = '9000000000'").fetchone()
    key, token = conn.execute("SELECT key_value, token FROM invoice WHERE merchant_id = ? "
                              "ORDER BY number DESC LIMIT 1", (merchant,)).fetchone()
    conn.close()
    bare_env = {**env, "BARE_DATABASE": f"{folder}/ckbiz.db", "BARE_MERCHANT": str(merchant),
                "PYTHONPATH": HERE}
    pages = [("history, first page", "/invoices", True),
             ("history, key-requisite search", f"/invoices?q={key[:4]}", True),
             ("history, status filter", "/invoices?status=paid", True),
             ("payer page", f"/i/{token}", False)]
    rows = []
    with gunicorn(env, "app:app", 5301, f"{folder}/ckbiz.log"), \
            gunicorn(bare_env, "bare_app:app", 5302, f"{folder}/bare.log"):
        cookie = login(5301)
        for name, path, logged_in in pages:
            ours = wrk(f"http://127.0.0.1:5301{path}", args.seconds, cookie if logged_in else None)
            bare = wrk(f"http://127.0.0.1:5302{path}", args.seconds)
            rows.append((name, ours, bare))
    print(f"\n{args.invoices:,} invoices over 10 merchants; gunicorn 2 sync workers; wrk -t2 -c8 -d{args.seconds}s\n")
    print("| page | ckbiz req/s | p50 ms | p99 ms | bare req/s | p50 ms | p99 ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (r, p50, p99), (br, bp50, bp99) in rows:
        print(f"| {name} | {r:.0f} | {p50:.1f} | {p99:.1f} | {br:.0f} | {bp50:.1f} | {bp99:.1f} | {r / br:.0%} |")


if __name__ == "__main__":
    main()
