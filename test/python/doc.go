// Package python runs the Python publisher client (clients/python) with
// Debian's /usr/bin/python3 against a real publisher on a real Redis.
//
// The Go test starts Redis and the publisher, and a small control server on
// loopback through which the Python tests ask for what only the Go side can
// do (stop and restart Redis, read the topic's history); every request is
// carried out by the test goroutine. Then it runs `python3 -I -B -m unittest`
// in clients/python and fails when any Python test fails, errors or is
// skipped.
//
// The test is skipped when /usr/bin/python3 is missing, unless
// REQUIRE_PYTHON=1 (set by make test).
package python
