#!/usr/bin/env bash
# Every bench in its smoke mode (a few viewers, a second or two each): CI runs this so the
# benches keep working. It checks that every server delivered everything; it never checks
# a speed (the figures of a smoke run mean nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -d bench/node/node_modules/socket.io ]; then
    npm ci --prefix bench/node --no-audit --no-fund --loglevel=error
fi

run() {
    echo "== $*" >&2
    # The last line of each bench is its JSON summary; keep the log short.
    timeout 90 "$PYTHON" "$@" | tail -n 1 | cut -c1-300
}

run bench/fanout.py --smoke
run bench/chat.py --smoke
if [ -f bench/ws_memory.py ]; then
    run bench/ws_memory.py --smoke
fi
if [ -f bench/idle_memory.py ]; then
    run bench/idle_memory.py --viewers 20
fi
echo "bench smoke: ok" >&2
