#!/usr/bin/env bash
# Installs and starts what the tests need. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Redis (the nhost-session-redis tests). These machines start one on 127.0.0.1:6379; start one
# if it is not answering.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if ! command -v redis-server >/dev/null; then
    apt-get update -qq && apt-get install -y -qq redis-server
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi

# Headless Chromium and its WebDriver (the real-browser test of the SSR example).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver
fi

# Node packages for the JS interop tests (lock files committed, node_modules not).
for dir in crates/nhost-session-cookie/interop; do
  if [ -f "$dir/package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
