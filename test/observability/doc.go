// Package observability holds ssegate's end-to-end observability tests:
// the real gateway and publisher on a real Redis, scraped by a real
// Prometheus (GET /api/v1/query); promtool checks of the deploy
// configuration; the log lines the services write (connection ids, no
// secrets or payloads); and a check that the README's operations section lists exactly
// the metrics the services export. Its subpackage metricrules holds the
// metric naming rules that each service's own tests apply too.
//
// Prometheus and promtool come from the Debian package "prometheus"; tests
// that need them skip when they are missing, or fail under
// REQUIRE_PROMETHEUS=1 (CI). Redis comes from internal/redistest.
package observability
