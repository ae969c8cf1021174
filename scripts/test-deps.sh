#!/usr/bin/env bash
# Installs the programs the test suite runs for real: redis-server (every
# Redis test), redis-sentinel (the Sentinel failover test), nginx (the proxy
# test), prometheus/promtool (the metrics test and rule checks), chromium
# (the browser test), node and npm (the JS snippet's test, the Node client
# test), python3 at /usr/bin/python3 (the Python client test) and docker-compose
# (compose file validation; no Docker engine needed). Debian/Ubuntu only; needs root
# or sudo. Does nothing for programs that are already installed.
set -euo pipefail

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm) # test/node installs its pinned clients with npm ci
[ -x /usr/bin/python3 ] || need+=(python3) # test/python runs Debian's python3 by its path

if [ ${#need[@]} -eq 0 ]; then
  echo "test-deps: everything is installed"
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "test-deps: installing ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "test-deps: need root or sudo to install ${need[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian packages start system services we do not use; the tests start
# their own servers on free loopback ports.
for svc in redis-server nginx prometheus; do
  $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
done
echo "test-deps: done"
