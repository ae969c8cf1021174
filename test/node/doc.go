// Package node runs the gateway against SSE clients that Node.js
// applications use (the `eventsource` npm package, current and 2.x), over a
// real Redis. The packages are pinned in package.json and package-lock.json
// and installed by the test itself with `npm ci` into a temporary
// directory, so a fresh machine needs only node and npm (scripts/test-deps.sh)
// and the npm registry.
//
// The tests are skipped when node or npm is missing, unless REQUIRE_NODE=1.
package node
