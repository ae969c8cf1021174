// Package nginx proves that ssegate works behind a real nginx configured
// with deploy/nginx/ssegate.conf: events are not buffered, quiet streams
// survive nginx's proxy_read_timeout thanks to the gateway's keepalives,
// Last-Event-ID resumes through the proxy, and the gateway believes
// X-Forwarded-For from a trusted proxy.
//
// The tests render a throw-away nginx.conf (from deploy/nginx/nginx.conf and
// deploy/nginx/ssegate.conf) into a temporary prefix directory, pointing the
// upstreams at in-process gateway and publisher programs on loopback ports,
// and run /usr/sbin/nginx as the current user in the foreground. They are
// skipped when nginx is missing, unless REQUIRE_NGINX=1 (CI installs
// nginx-light). Redis is a real redis-server (internal/redistest).
package nginx
