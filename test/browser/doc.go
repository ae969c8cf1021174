// Package browser drives the gateway's demo page (GET /) in a real headless
// Chromium through the Chrome DevTools Protocol (github.com/chromedp/chromedp)
// and proves the whole path a factory screen uses: publisher → Redis →
// gateway → EventSource → spool board, including a gateway restart in the
// middle, after which the browser reconnects by itself with Last-Event-ID
// and shows every event exactly once, in order. A page that had no event
// yet resumes too: every stream starts with its position (an id line
// without data), which the browser sends back in Last-Event-ID.
//
// The test is skipped when /usr/bin/chromium (Debian's `chromium` package)
// is missing, unless REQUIRE_BROWSER=1. It saves a screenshot of the board
// to test/output/browser-board.png (or $SSEGATE_TEST_OUTPUT/browser-board.png).
package browser
