#!/usr/bin/env bash
# Offline checks of ssegate's deployment artifacts. Needs no Docker engine,
# no cluster and no network (the Go module cache must hold deploy/validate's
# dependencies, or the Go proxy must be reachable).
#
#   docker-compose.yml           docker-compose config -q (or docker compose)
#   deploy/prometheus/*          promtool check config / check rules / test rules
#   deploy/nginx/*               nginx -t on a rendered copy (deploy/check-nginx.sh)
#   deploy/kubernetes, grafana,  cd deploy/validate && go test ./...
#   deploy/helm/ssegate (rendered with the Helm Go SDK: no helm binary),
#   Dockerfile, contract names
#
# Tools: docker-compose (or the docker compose plugin), promtool, nginx, go.
# Debian: apt-get install -y docker-compose prometheus nginx-light
# Every check runs even if an earlier one failed; the exit status is non-zero
# if any failed or a tool is missing.
set -uo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$deploy_dir/.." && pwd)"
cd "$root" || exit 1

failed=()
passed=()

# run NAME CMD...: runs one check, records the result.
run() {
    local name="$1"
    shift
    echo "==> $name: $*"
    if "$@"; then
        passed+=("$name")
        echo "    ok: $name"
    else
        failed+=("$name")
        echo "    FAILED: $name" >&2
    fi
}

# need TOOL: reports a missing tool as a failed check.
need() {
    if command -v "$1" >/dev/null 2>&1; then
        return 0
    fi
    echo "==> missing tool: $1" >&2
    failed+=("tool $1")
    return 1
}

# Compose file: docker-compose v1 if present (Debian's docker-compose), else
# the v2 plugin. `config` validates against the Compose schema and resolves
# variables; it needs no engine.
if command -v docker-compose >/dev/null 2>&1; then
    run "compose config" docker-compose -f docker-compose.yml config -q
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    run "compose config" docker compose -f docker-compose.yml config -q
else
    echo "==> missing tool: docker-compose" >&2
    failed+=("tool docker-compose")
fi

if need promtool; then
    run "promtool check config" promtool check config deploy/prometheus/prometheus.yml
    run "promtool check rules" promtool check rules deploy/prometheus/alerts.yml
    run "promtool test rules" promtool test rules deploy/prometheus/alerts_test.yml
fi

if command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; then
    run "nginx -t" bash "$deploy_dir/check-nginx.sh"
else
    echo "==> missing tool: nginx" >&2
    failed+=("tool nginx")
fi

if need go; then
    # A sub-shell so the cd does not leak; -count=1 so results are never cached.
    run "deploy/validate go test" bash -c 'cd "$1/validate" && go test -count=1 ./...' _ "$deploy_dir"
fi

echo
echo "deploy-checks: ${#passed[@]} passed, ${#failed[@]} failed"
if ((${#failed[@]} > 0)); then
    printf '  failed: %s\n' "${failed[@]}" >&2
    exit 1
fi
