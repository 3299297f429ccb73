#!/usr/bin/env bash
# Every test: once on SQLite with the SQLite queue (browser tests included), once on
# PostgreSQL with Redis (everything that touches the database or the queue).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${PG_TEST_URL:-postgresql://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_TEST_URL:-redis://127.0.0.1:6379/15}

scripts/services.sh
# Debian packages the tests drive, as command:package: chromium (browser tests), wrk (the
# benchmark's short run), poppler-utils (pdftotext, pdftoppm, pdfinfo read the invoice PDF).
for pair in chromium:chromium wrk:wrk pdftotext:poppler-utils; do
  tool=${pair%%:*} package=${pair#*:}
  if ! command -v $tool >/dev/null; then
    echo "installing Debian's $package"
    (apt-get install -y $package >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y $package >/dev/null)) \
      || { echo "could not install $package" >&2; exit 1; }
  fi
done

status=0
echo "== SQLite + SqliteHuey (with the browser tests)"
$BIN/python -m pytest "$@" || status=1
echo "== PostgreSQL + RedisHuey"
CKBIZ_TEST_DATABASE_URL=$PG_URL CKBIZ_HUEY_URL=$REDIS_URL $BIN/python -m pytest --ignore=tests/e2e "$@" || status=1
if [ $# -eq 0 ]; then  # a run narrowed with pytest arguments skips these
  echo "== PostgreSQL: the payment providers' flows in Chromium (each in a schema of its own)"
  CKBIZ_TEST_DATABASE_URL=$PG_URL $BIN/python -m pytest tests/e2e/test_providers.py || status=1
  echo "== Load, short run (10 merchants, 40 payers; zero 5xx, every message and payment exactly once)"
  $BIN/python bench/load.py --short --backend both || status=1
  echo "== Benchmark, short run (numbers are indicative; it fails only on an error or a lost message)"
  $BIN/python bench/run.py --short || status=1
fi
exit $status
