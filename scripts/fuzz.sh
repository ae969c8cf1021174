#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a bounded time each.
# Usage: scripts/fuzz.sh [duration per target, default 10s]
set -euo pipefail
fuzztime=${1:-10s}
cd "$(dirname "$0")/.."
fail=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "==> fuzz $pkg $target ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
      cat /tmp/fuzz.$$.log
      fail=1
    fi
  done
done
rm -f /tmp/fuzz.$$.log
exit $fail
