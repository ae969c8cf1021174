#!/usr/bin/env bash
# Validates deploy/nginx/nginx.conf + deploy/nginx/ssegate.conf with `nginx -t`
# without touching /etc/nginx or needing the compose host names to resolve.
#
# It renders a throw-away copy of the configuration in a temporary prefix
# directory: /etc/nginx/ paths point into that directory, the upstream hosts
# gateway:8080 / publisher:8081 become 127.0.0.1 ports (nginx resolves upstream
# names at load time, and the compose names do not exist here), and nginx's
# temp paths are moved into the prefix. Then it runs
#   nginx -t -p <tmpdir> -c <tmpdir>/nginx.conf
# Usage: deploy/check-nginx.sh   (NGINX=/path/to/nginx to pick a binary)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/nginx"
nginx_bin="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

if [[ ! -x "$nginx_bin" ]]; then
    echo "check-nginx: nginx not found (install nginx-light)" >&2
    exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ssegate-nginx.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ssegate" "$tmp/temp" "$tmp/logs"

# mime.types: the container image has one; use the host's if present.
if [[ -f /etc/nginx/mime.types ]]; then
    cp /etc/nginx/mime.types "$tmp/mime.types"
else
    printf 'types {\n    text/html html;\n}\n' >"$tmp/mime.types"
fi

# Upstream hosts -> loopback ports.
sed -e 's/server gateway:8080/server 127.0.0.1:18080/' \
    -e 's/server publisher:8081/server 127.0.0.1:18081/' \
    "$src/ssegate.conf" >"$tmp/ssegate/ssegate.conf"

# /etc/nginx/ -> prefix; temp paths into the prefix (Debian's build points
# them at /var/lib/nginx, which a minimal CI image may lack).
sed -e "s#/etc/nginx/#$tmp/#g" \
    -e "s#^http {#http {\n    client_body_temp_path $tmp/temp/body;\n    proxy_temp_path $tmp/temp/proxy;\n    fastcgi_temp_path $tmp/temp/fastcgi;\n    uwsgi_temp_path $tmp/temp/uwsgi;\n    scgi_temp_path $tmp/temp/scgi;#" \
    "$src/nginx.conf" >"$tmp/nginx.conf"

# Fail if the substitutions did not happen (the files changed shape).
if grep -v '^[[:space:]]*#' "$tmp/ssegate/ssegate.conf" | grep -q -e 'gateway:8080' -e 'publisher:8081'; then
    echo "check-nginx: upstream host substitution failed" >&2
    exit 1
fi
if grep -v '^[[:space:]]*#' "$tmp/nginx.conf" | grep -q '/etc/nginx/'; then
    echo "check-nginx: /etc/nginx path substitution failed" >&2
    exit 1
fi

echo "check-nginx: $nginx_bin -t -p $tmp/ -c $tmp/nginx.conf"
"$nginx_bin" -t -p "$tmp/" -c "$tmp/nginx.conf"
