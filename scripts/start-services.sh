#!/usr/bin/env bash
# Start the local PostgreSQL and Redis that the integration tests use, when they are not running,
# and wait until both answer. Installs them, and the programs the console and telephony tests
# run (Chromium, espeak-ng, sox), from Debian's packages on a machine without them.
set -euo pipefail

wait_for() {  # name, command
  for _ in $(seq 1 60); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "$1 did not become ready" >&2
  return 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
# The console tests drive Debian's Chromium headless through Playwright.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The telephony tests make Vietnamese speech with espeak-ng and convert it with sox.
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
if ((${#missing[@]})); then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for redis "redis-cli -h 127.0.0.1 -p 6379 ping"

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
wait_for postgresql "pg_isready -h 127.0.0.1 -p 5432"
echo "services ready: redis 127.0.0.1:6379, postgresql 127.0.0.1:5432"
