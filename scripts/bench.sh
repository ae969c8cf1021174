#!/usr/bin/env bash
# make bench: Go micro-benchmarks, then short ssebench runs against a real
# stack (redis-server, gateway, publisher) started here on loopback and
# stopped at the end. Results go to stdout and out/bench/. Takes a few minutes.
# Longer runs (10k–50k connections) are in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/bench
mkdir -p "$out" bin
command -v redis-server >/dev/null || ./scripts/test-deps.sh

echo "== Go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime 1s \
  ./internal/sse ./gateway ./internal/loadgen | tee "$out/go-bench.txt"
REQUIRE_REDIS=1 go test -run '^$' -bench 'Replay' -benchmem -benchtime 3x ./test/integration/ | tee "$out/replay-bench.txt"

echo "== building"
# The Makefile's build, with its version flags, so that
# `bin/gateway -version` names the build (a plain `go build` says "dev").
"${MAKE:-make}" --no-print-directory build

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
RP=$(port); GP=$(port); PP=$(port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no >"$out/redis.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
export SSEGATE_REDIS_URL="redis://127.0.0.1:$RP/0" SSEGATE_LOG_LEVEL=warn SSEGATE_LOG_FORMAT=json
SSEGATE_LISTEN_ADDR="127.0.0.1:$GP" bin/gateway >"$out/gateway.log" 2>&1 & GW=$!; pids+=($GW)
SSEGATE_LISTEN_ADDR="127.0.0.1:$PP" SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true bin/publisher >"$out/publisher.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$GP/readyz" >/dev/null && curl -sf "http://127.0.0.1:$PP/readyz" >/dev/null && break; sleep 0.1; done

bench() {
  local name=$1; shift
  echo "== ssebench $name"
  bin/ssebench -quiet -url "http://127.0.0.1:$GP" -publish-url "http://127.0.0.1:$PP/v1/events" \
    -pids "$GW" -metrics-url "http://127.0.0.1:$GP/metrics" "$@" | tee "$out/$name.txt"
}
bench 1k-x10   -conns 1000 -rate 10 -duration 15s
bench 1k-x100  -conns 1000 -rate 100 -duration 15s
bench 5k-x10   -conns 5000 -rate 10 -duration 15s -connect-concurrency 500
bench idle-5k  -mode idle -conns 5000 -duration 5s -connect-concurrency 500
echo "results in $out/"
