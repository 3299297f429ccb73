#!/usr/bin/env bash
# Every test: once on SQLite with the SQLite queue (browser tests included), once on
# PostgreSQL with Redis (everything that touches the database or the queue).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${PG_TEST_URL:-postgresql://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_TEST_URL:-redis://127.0.0.1:6379/15}

scripts/services.sh
if ! command -v chromium >/dev/null; then
  echo "installing Debian's chromium for the browser tests"
  (apt-get install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y chromium >/dev/null)) \
    || { echo "could not install chromium" >&2; exit 1; }
fi

status=0
echo "== SQLite + SqliteHuey (with the browser tests)"
$BIN/python -m pytest "$@" || status=1
echo "== PostgreSQL + RedisHuey"
CKBIZ_TEST_DATABASE_URL=$PG_URL CKBIZ_HUEY_URL=$REDIS_URL $BIN/python -m pytest --ignore=tests/e2e "$@" || status=1
exit $status
