#!/usr/bin/env bash
# Start the queue worker in the background and the web app in the foreground;
# Ctrl-C stops both (the worker finishes the task it is running first).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

$BIN/flask --app app worker &
worker=$!
trap 'kill -INT $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT

echo "ckbiz: http://127.0.0.1:5000 (Ctrl-C to stop)"
$BIN/gunicorn app:app  # settings: gunicorn.conf.py
