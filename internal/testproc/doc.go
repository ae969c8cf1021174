// Package testproc finds and runs the external programs that ssegate's
// tests drive for real (redis-server, nginx, Prometheus, Chromium), the
// same way in every test package:
//
//   - Require finds a program on PATH or at a distribution's path. When it
//     is missing the test is skipped, unless an environment variable such
//     as REQUIRE_NGINX=1 turns the skip into a failure, so CI cannot lose a
//     whole suite silently.
//   - Start runs a program in its own process group, with SIGKILL as its
//     parent-death signal on Linux, and reaps it in a goroutine it owns;
//     Process.Kill signals the whole group (nginx workers, a Redis RDB
//     child) and waits until the program has been reaped, so its port is
//     free when Kill returns and no orphan outlives the test binary.
package testproc
