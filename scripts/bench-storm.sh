#!/usr/bin/env bash
# Reconnect storm (issue 15): redis-server, a publisher and two gateways (A
# and B) from `make build` on free loopback ports; CONNS clients on A (default
# 10,000) over TOPICS topics (default 10) at RATE publishes/s (default 100),
# then A is killed with SIGKILL and every client reconnects to B with its
# Last-Event-ID. Prints ssebench's report (and writes JSON to out/bench-storm/).
# Bounded: the storm phase ends 30 s after the kill at the latest.
# Usage: scripts/bench-storm.sh [CONNS] [TOPICS] [RATE] [extra ssebench flags…]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-10000}
topics=${2:-10}
rate=${3:-100}
shift $(( $# < 3 ? $# : 3 ))
out=out/bench-storm
mkdir -p "$out" bin
command -v redis-server >/dev/null || ./scripts/test-deps.sh
# The Makefile's build, with its version flags, so that
# `bin/gateway -version` names the build (a plain `go build` says "dev").
"${MAKE:-make}" --no-print-directory build

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

RP=$(port); AP=$(port); BP=$(port); PP=$(port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no >"$out/redis.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
export SSEGATE_REDIS_URL="redis://127.0.0.1:$RP/0" SSEGATE_LOG_LEVEL=warn SSEGATE_LOG_FORMAT=json
SSEGATE_LISTEN_ADDR="127.0.0.1:$AP" bin/gateway >"$out/gateway-a.log" 2>&1 & GA=$!; pids+=($GA)
SSEGATE_LISTEN_ADDR="127.0.0.1:$BP" bin/gateway >"$out/gateway-b.log" 2>&1 & GB=$!; pids+=($GB)
SSEGATE_LISTEN_ADDR="127.0.0.1:$PP" SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true bin/publisher >"$out/publisher.log" 2>&1 & pids+=($!)
for u in "http://127.0.0.1:$AP" "http://127.0.0.1:$BP" "http://127.0.0.1:$PP"; do
  for _ in $(seq 100); do curl -sf "$u/readyz" >/dev/null && break; sleep 0.1; done
done

echo "== storm: $conns clients on A over $topics topics, $rate publishes/s; kill -9 A, reconnect to B"
bin/ssebench -mode storm -quiet -url "http://127.0.0.1:$AP" -storm-url "http://127.0.0.1:$BP" \
  -kill-pid "$GA" -stats-redis "127.0.0.1:$RP" -publish-url "http://127.0.0.1:$PP/v1/events" \
  -pids "$GB" -conns "$conns" -topics "$topics" -rate "$rate" -duration 5s -drain 10s \
  -connect-concurrency 500 -json "$@" >"$out/storm.json"
python3 - "$out/storm.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s, rc = r["storm"], r["storm"]["redis"]
print(f"clients {s['clients']} topics {s['topics']} resumed {s['resumed']} (failed {s['failed']})")
print(f"resumed 99% {s['resumed_99_seconds']:.2f}s 100% {s['resumed_100_seconds']:.2f}s after the kill; reconnect delay {s['reconnect_delay']} jitter {s['reconnect_jitter']}")
print(f"lost {s['lost']} duplicates {s['duplicates']} id violations {s['id_violations']}")
print(f"live latency on B p50 {s['live_latency']['p50_ms']:.1f} ms p99 {s['live_latency']['p99_ms']:.1f} ms (n={s['live_latency']['count']})")
if rc.get("error"):
    print("redis commands: error", rc["error"])
else:
    print(f"redis over {rc['seconds']:.1f}s: history reads {rc['history_reads']} reader scripts {rc['reader_scripts']} publishes {rc['publishes']}")
    print("  by command:", " ".join(f"{k}={v}" for k, v in sorted(rc["by_command"].items(), key=lambda kv: -kv[1])))
sys.exit(0 if s["lost"] == 0 and s["duplicates"] == 0 and s["failed"] == 0 and s["resumed"] == s["clients"] else 1)
PY
