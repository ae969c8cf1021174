// Package web holds the browser side of ssegate: the demo page (a live spool
// board) that the gateway serves next to the stream, and the client library,
// whose one source is the npm package in clients/js.
//
// The files are in the binary so the gateway needs nothing on disk:
//
//	GET /                  → index.html
//	GET /static/<name>     → ssegate.js, ssegate.mjs, app.js, style.css
//
// index.html loads its resources with relative "static/…" URLs and no external
// resources at all (no CDN), so the page works offline, behind a path prefix and
// under its own Content-Security-Policy. ssegate.mjs is clients/js/src/ssegate.js
// as it is; ssegate.js is the same code as a classic script that defines
// window.SSEGate (built by package clients/js).
package web

import (
	"embed"
	"fmt"
	"io/fs"

	js "github.com/ssegate/ssegate/clients/js"
)

//go:embed index.html app.js style.css
var files embed.FS

// FS returns the demo page and the client library, all at the top level:
// index.html, ssegate.js, ssegate.mjs, app.js and style.css. It is read-only
// and safe for concurrent use; serve it with http.FileServerFS or
// http.ServeFileFS (both set Content-Type from the file extension). An error
// means the client source in clients/js cannot be built into a classic
// script (see js.ErrLayout); its tests catch that before a release.
func FS() (fs.FS, error) {
	classic, err := js.Classic()
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	out := memFS{"ssegate.js": classic, "ssegate.mjs": js.Module()}
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		out[name] = b
	}
	return out, nil
}
