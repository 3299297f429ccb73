#!/usr/bin/env bash
# Every test: once on SQLite with the SQLite queue, once on PostgreSQL with Redis.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${PG_TEST_URL:-postgresql://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_TEST_URL:-redis://127.0.0.1:6379/15}

scripts/services.sh

status=0
echo "== SQLite + SqliteHuey"
$BIN/python -m pytest "$@" || status=1
echo "== PostgreSQL + RedisHuey"
CKBIZ_TEST_DATABASE_URL=$PG_URL CKBIZ_HUEY_URL=$REDIS_URL $BIN/python -m pytest "$@" || status=1
exit $status
