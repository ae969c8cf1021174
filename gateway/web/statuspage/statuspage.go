// Package statuspage holds the browser side of the gateway's status page:
// one HTML template, its script and its styles, in the binary.
//
//	GET /status             → index.html (a template: the token goes into the asset URLs)
//	GET /status/app.js      → app.js
//	GET /status/style.css   → style.css
//
// Like the demo board (package web) it loads nothing from outside the
// gateway and runs under a strict Content-Security-Policy (no inline script
// or style): the page opens an EventSource on /status/stream and renders
// each "status" event, whose data is a status.Report as JSON.
package statuspage

import (
	"embed"
	"fmt"
	"html/template"
	"io"
)

//go:embed index.html app.js style.css
var files embed.FS

// Page is the parsed page template and its assets.
type Page struct {
	tmpl          *template.Template
	script, style []byte
}

// Load parses the embedded files. An error means the binary was built
// from broken files (its tests catch that).
func Load() (*Page, error) {
	t, err := template.ParseFS(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	script, err := files.ReadFile("app.js")
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	style, err := files.ReadFile("style.css")
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	return &Page{tmpl: t, script: script, style: style}, nil
}

// Render writes the HTML page; token (possibly "") is put into the URLs of
// its assets, which answer only with it, as the page does.
func (p *Page) Render(w io.Writer, token string) error {
	return p.tmpl.Execute(w, struct{ Token string }{token})
}

// Script returns app.js.
func (p *Page) Script() []byte { return p.script }

// Style returns style.css.
func (p *Page) Style() []byte { return p.style }
