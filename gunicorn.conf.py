"""gunicorn's settings for ckbiz: gunicorn reads this file from the checkout by itself, so
`make run` (scripts/run.sh) and the systemd unit in README serve with the same settings; a
command-line option (the unit's --bind) overrides the line here.

Threaded workers because of slow clients. In gunicorn 23 the gthread worker reads a request's
headers in a pool thread, blocking, with no deadline of its own: a client that sends a header
byte every few seconds holds one thread for as long as it likes. With sync workers two such
clients took both workers and /healthz waited 30 s. Here 20 slow clients hold at most 20 of one
worker's 32 threads (tests/faults/test_slow_clients.py), and the rest keep answering. More than
that is nginx's job: it reads whole requests before passing them on (README, Deployment).
"""
import gc

bind = "127.0.0.1:5000"
worker_class = "gthread"
workers = 2
# The number the slow-client protection relies on: each worker serves this many requests at
# once, slow or not. With PostgreSQL each may hold a connection: workers × threads of them.
threads = 32
# gthread's main loop keeps the worker alive while threads wait, so this catches a stuck
# worker, not a slow request; a request still running at a restart gets graceful_timeout.
timeout = 30
graceful_timeout = 30
keepalive = 5
# The longest request line and headers a browser or the payment provider sends, with room.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
accesslog = "-"


def post_worker_init(worker):
    """Once the worker has imported the app, its ~100,000 long-lived objects (modules, classes,
    the catalog) leave the collector's generations. A full collection then scans only what
    requests made (0 ms, against 50 ms over everything), and it no longer waits for new objects
    to reach a quarter of the imported ones, so each request's garbage cycles stop piling up
    for hundreds of requests first (2-3 MB a worker, docs/benchmarks.md)."""
    gc.freeze()
