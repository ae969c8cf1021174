#!/usr/bin/env bash
# Three gateway replicas on one Redis holding CONNS connections in total
# (default 50,000), with three ssebench processes (one process can hold only
# ~19,900 sockets here). Every event must reach every client: the script
# prints each ssebench report and a summary line. Loopback only, bounded.
# Usage: scripts/bench-replicas.sh [CONNS] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-50000}
duration=${2:-30s}
per=$(( (conns + 2) / 3 ))
out=out/bench-replicas
mkdir -p "$out" bin
# The Makefile's build, with its version flags, so that
# `bin/gateway -version` names the build (a plain `go build` says "dev").
"${MAKE:-make}" --no-print-directory build

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

RP=$(port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no >"$out/redis.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
export SSEGATE_REDIS_URL="redis://127.0.0.1:$RP/0" SSEGATE_LOG_LEVEL=warn SSEGATE_LOG_FORMAT=json
urls=(); gwpids=()
for i in 1 2 3; do
  p=$(port)
  SSEGATE_LISTEN_ADDR="127.0.0.1:$p" bin/gateway >"$out/gateway$i.log" 2>&1 & pids+=($!); gwpids+=($!)
  urls+=("http://127.0.0.1:$p")
done
PP=$(port)
SSEGATE_LISTEN_ADDR="127.0.0.1:$PP" SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true bin/publisher >"$out/publisher.log" 2>&1 & pids+=($!)
for u in "${urls[@]}" "http://127.0.0.1:$PP"; do
  for _ in $(seq 100); do curl -sf "$u/readyz" >/dev/null && break; sleep 0.1; done
done
gws=$(IFS=,; echo "${urls[*]}")
gwp=$(IFS=,; echo "${gwpids[*]}")
metrics=$(printf '%s/metrics,' "${urls[@]}"); metrics=${metrics%,}

echo "== $conns connections over 3 gateways ($gws), $duration"
bpids=()
for i in 1 2 3; do
  # Each process uses source addresses 127.0.0.2-4 for 6,000 connections
  # each: 18,000 per address over the three processes, under the ~28k
  # ephemeral ports of one address.
  bin/ssebench -quiet -json -url "$gws" -publish-url "http://127.0.0.1:$PP/v1/events" \
    -conns "$per" -conns-per-addr 6000 -connect-concurrency 300 -topic-prefix "r$i:" \
    -rate 2 -duration "$duration" -drain 10s -pids "$gwp" -metrics-url "$metrics" >"$out/ssebench$i.json" 2>"$out/ssebench$i.err" &
  bpids+=($!)
done
fail=0
for p in "${bpids[@]}"; do wait "$p" || fail=1; done
python3 - "$out" <<'PY'
import json, sys, glob
tot = dict(held=0, expected=0, delivered=0, missing=0, duplicates=0, failed=0)
for f in sorted(glob.glob(sys.argv[1] + "/ssebench*.json")):
    r = json.load(open(f))
    c, d = r["connections"], r["delivery"]
    tot["held"] += c["held_at_end"]; tot["failed"] += c["failed"]
    tot["expected"] += d["expected"]; tot["delivered"] += d["delivered"]
    tot["missing"] += d["missing"]; tot["duplicates"] += d["duplicates"]
    lat = r.get("latency", {})
    print(f"{f}: held {c['held_at_end']} failed {c['failed']} expected {d['expected']} delivered {d['delivered']} missing {d['missing']} dup {d['duplicates']} p99 {lat.get('p99_ms')} ms")
print("TOTAL", tot)
sys.exit(0 if tot["missing"] == 0 and tot["duplicates"] == 0 and tot["failed"] == 0 else 1)
PY
