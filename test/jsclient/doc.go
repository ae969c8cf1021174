// Package jsclient tests the JavaScript client, the npm package in
// clients/js (@ssegate/client), under Node: its behaviour suite, its
// TypeScript declarations (tsc), that npm would publish what it needs
// (npm pack --dry-run), and the client against a real gateway, publisher
// and Redis. The package's devDependencies (the `eventsource` client, as
// Node 20 has no EventSource, and typescript) are pinned in its
// package-lock.json and installed by the test with `npm ci` into a copy of
// the package in a temporary directory, so the source tree stays clean.
//
// In headless Chromium the same source is exercised as the gateway serves
// it: test/browser (the demo page loads /static/ssegate.js; one test
// imports /static/ssegate.mjs).
//
// The tests are skipped when node or npm is missing, unless REQUIRE_NODE=1.
package jsclient
