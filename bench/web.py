"""Pages under load: gunicorn, a real login, and wrk."""
import json
import os
import re
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections import namedtuple
from http.cookiejar import CookieJar

from live import BIN, Process, wait_for

PASSWORD = "bench password"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def gunicorn(env, module, port, log, workers=2):
    """gunicorn with sync workers, as the goals are stated. gunicorn.conf.py at the checkout's top
    (gthread, 32 threads: the slow-client protection) would otherwise apply by itself, to ckbiz and
    the bare app alike; the options here override it. --threads as well: gunicorn turns a sync
    worker given more than one thread into a gthread one ("Using worker: gthread" in the log of
    every run until 2026-12-01)."""
    process = Process([os.path.join(BIN, "gunicorn"), "--worker-class", "sync", "--threads", "1",
                       "--workers", str(workers), "--bind", f"127.0.0.1:{port}", module], env, log)
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


def login(port, phone="9000000000"):
    """The session cookie of a demo merchant, through the real login form, and a CSRF token of it."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"http://127.0.0.1:{port}/login").read().decode()
    data = urllib.parse.urlencode({"phone": phone, "password": PASSWORD,
                                   "csrf_token": CSRF.search(html).group(1)}).encode()
    opener.open(f"http://127.0.0.1:{port}/login", data)
    token = CSRF.search(opener.open(f"http://127.0.0.1:{port}/invoices/new").read().decode()).group(1)
    return "; ".join(f"{c.name}={c.value}" for c in jar), token


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_script(folder, name, form, cookie=None):
    """A wrk Lua script that POSTs the form (as a browser would, urlencoded)."""
    path = os.path.join(folder, f"{name}.lua")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua(urllib.parse.urlencode(form))}"]
    lines += [f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def api_script(folder, name, key, body=None):
    """A wrk Lua script calling the API with the key: a POST of the JSON `body`, or a GET."""
    path = os.path.join(folder, f"{name}.lua")
    lines = [f"wrk.headers[\"Authorization\"] = {_lua('Bearer ' + key)}"]
    if body is not None:
        lines += ['wrk.method = "POST"', f"wrk.body = {_lua(json.dumps(body))}",
                  'wrk.headers["Content-Type"] = "application/json"']
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def _lua(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


Load = namedtuple("Load", "rps p50 p99 cpu")


def wrk(url, seconds, cookie=None, script=None, connections=8, server=None, postgres=False):
    """Requests/s, p50 and p99 (ms) from wrk on 2 threads; any error response stops the run.

    With `server` (a gunicorn Process), also the CPU it cost per request, in ms: its workers',
    and PostgreSQL's processes' with `postgres` (on two busy cores, throughput is the inverse of it).
    """
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    if script:
        args += ["-s", script]
    before = _cpu_times(server, postgres) if server else None
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    cpu = None
    if server:
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        cpu = tuple(_spent(b, a) * 1000 / requests for b, a in zip(before, _cpu_times(server, postgres)))
    return Load(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), _ms(out, "50%"), _ms(out, "99%"), cpu)


def _cpu_times(server, postgres):
    """User + system seconds so far of each of the server's workers and (with `postgres`) each of
    PostgreSQL's processes, by pid."""
    database = [pid for pid in os.listdir("/proc") if pid.isdigit() and _comm(pid) == "postgres"] if postgres else []
    return _seconds(_workers(server.proc.pid)), _seconds(database)


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _seconds(pids):
    times = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:  # gone in between
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return times


def _spent(before, after):
    """CPU seconds between two readings; a process started in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


TICKS = os.sysconf("SC_CLK_TCK")


def _ms(out, label):
    """A latency percentile from wrk's output, in milliseconds."""
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def _workers(master_pid):
    with open(f"/proc/{master_pid}/task/{master_pid}/children") as fh:
        return fh.read().split()


def memory(master_pid):
    """The largest RSS and PSS (MB) among a gunicorn master's workers, from /proc."""
    worst = (0.0, 0.0)
    for pid in _workers(master_pid):
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:])
        rss, pss = (int(fields[k].split()[0]) / 1024 for k in ("Rss", "Pss"))
        worst = max(worst, (rss, pss))
    return worst
