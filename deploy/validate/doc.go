// Package validate holds offline checks of ssegate's deployment artifacts
// (deploy/kubernetes, deploy/helm/ssegate, deploy/grafana, deploy/prometheus, deploy/Dockerfile and
// the top-level docker-compose.yml). It is its own Go module so that the
// Kubernetes API packages it needs never become dependencies of ssegate
// itself; the main module does not see it.
//
// The checks are tests: `cd deploy/validate && go test ./...` (deploy/check.sh
// runs them). They decode every Kubernetes manifest strictly into its typed
// API struct, so a misspelt or misplaced field fails instead of being
// silently dropped by the API server; the Helm chart is rendered with the
// Helm Go SDK and held to the same invariants as the manifests. They cross-check the manifests,
// the dashboard and the alerts against docs/CONTRACT.md, the one place where
// setting and metric names are defined.
package validate
