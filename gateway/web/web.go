// Package web holds the browser side of ssegate: the client library ssegate.js and
// a demo page (a live spool board) that the gateway serves next to the stream.
//
// The files are embedded in the binary so the gateway needs nothing on disk:
//
//	GET /                  → index.html
//	GET /static/<name>     → ssegate.js, ssegate.mjs, app.js, style.css
//
// index.html loads its resources with relative "static/…" URLs and no external
// resources at all (no CDN), so the page works offline, behind a path prefix and
// under its own Content-Security-Policy. ssegate.js is a classic script that
// defines window.SSEGate; ssegate.mjs re-exports it for ES module imports.
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html ssegate.js ssegate.mjs app.js style.css
var files embed.FS

// FS returns the demo page and the client library, rooted so that index.html,
// ssegate.js, ssegate.mjs, app.js and style.css sit at the top level. It is
// read-only and safe for concurrent use; serve it with http.FileServerFS or
// http.ServeFileFS (both set Content-Type from the file extension).
func FS() fs.FS {
	return files
}
