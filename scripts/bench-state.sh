#!/usr/bin/env bash
# make bench-state: the "Initial state" figures of docs/benchmarks.md. Starts a
# dedicated redis-server (so INFO commandstats counts only this run), a gateway
# and a publisher on free loopback ports, runs bin/statebench and stops them.
# Arguments go to statebench (default: 1,000 clients, 5,000 keys, 6 × 5 s of
# publishing). Bounded: statebench's own limits, plus a 10-minute timeout.
# Output: stdout and out/bench/state.txt, with the machine's load before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/bench
mkdir -p "$out" bin
command -v redis-server >/dev/null || ./scripts/test-deps.sh
"${MAKE:-make}" --no-print-directory build
go build -trimpath -o bin/statebench ./cmd/statebench

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
RP=$(port); GP=$(port); PP=$(port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no >"$out/state-redis.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
export SSEGATE_REDIS_URL="redis://127.0.0.1:$RP/0" SSEGATE_LOG_LEVEL=warn SSEGATE_LOG_FORMAT=json
SSEGATE_LISTEN_ADDR="127.0.0.1:$GP" bin/gateway >"$out/state-gateway.log" 2>&1 & pids+=($!)
SSEGATE_LISTEN_ADDR="127.0.0.1:$PP" SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true bin/publisher >"$out/state-publisher.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$GP/readyz" >/dev/null && curl -sf "http://127.0.0.1:$PP/readyz" >/dev/null && break; sleep 0.1; done

{
  echo "== $(date -u +%FT%TZ) $(bin/gateway -version 2>&1 | head -1)"
  echo "load before: $(uptime)"
  timeout 10m bin/statebench -url "http://127.0.0.1:$GP" -publish-url "http://127.0.0.1:$PP/v1/events" \
    -redis-addr "127.0.0.1:$RP" "$@"
  echo "load after:  $(uptime)"
} | tee "$out/state.txt"
