// Package js holds the JavaScript client of ssegate (the npm package
// @ssegate/client) and gives the gateway the two forms it serves from the one
// source, src/ssegate.js:
//
//   - Module: the ES module, byte for byte what npm users import
//     (served as /static/ssegate.mjs);
//   - Classic: the same code as a classic script that defines
//     globalThis.SSEGate, for a plain <script> tag (served as /static/ssegate.js).
//
// The classic form is built here rather than committed beside the gateway: go:embed
// cannot reach outside its package's directory, and a generated copy would be a
// second source that can drift. The build is a cut and a wrap, no JavaScript
// tooling: everything above the exports marker line is wrapped in a strict-mode
// function (module code is strict and has its own scope, so the wrapped code
// runs the same), which then publishes SSEGate on globalThis (and as
// module.exports under CommonJS).
package js

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
)

//go:embed src/ssegate.js
var module []byte

// exportsMarker starts the ES module's export block, which the classic form
// replaces.
var exportsMarker = []byte("\n// ---- ES module exports: the classic-script build (embed.go) stops at this line ----\n")

// moduleSyntax finds a statement that only a module may contain.
var moduleSyntax = regexp.MustCompile(`(?m)^\s*(import|export)\b`)

// ErrLayout means the source does not have the shape the classic build
// needs: its export block after the marker line, and no import or export
// statement before it.
var ErrLayout = errors.New("clients/js: src/ssegate.js layout")

// Module returns the ES module (src/ssegate.js). The slice is a copy.
func Module() []byte {
	return bytes.Clone(module)
}

// Classic returns the library as a classic script that defines
// globalThis.SSEGate (window.SSEGate in a page).
func Classic() ([]byte, error) {
	return classic(module)
}

// classic builds the classic script from an ES module source src.
func classic(src []byte) ([]byte, error) {
	body, exports, ok := bytes.Cut(src, exportsMarker)
	if !ok {
		return nil, fmt.Errorf("%w: no exports marker line", ErrLayout)
	}
	if loc := moduleSyntax.FindIndex(body); loc != nil {
		return nil, fmt.Errorf("%w: module statement %q before the exports marker", ErrLayout, bytes.TrimSpace(body[loc[0]:loc[1]]))
	}
	if !bytes.Contains(exports, []byte("export default SSEGate;")) {
		return nil, fmt.Errorf("%w: the export block does not export SSEGate", ErrLayout)
	}
	var b bytes.Buffer
	b.WriteString("// Built by the gateway from @ssegate/client's src/ssegate.js (clients/js): the same code,\n")
	b.WriteString("// wrapped as a classic script that defines window.SSEGate. Do not edit; edit the source.\n")
	b.WriteString("(function () {\n'use strict';\n")
	b.Write(body)
	b.WriteString("\nglobalThis.SSEGate = SSEGate;\n")
	b.WriteString("if (typeof module === 'object' && module && module.exports) module.exports = SSEGate;\n")
	b.WriteString("})();\n")
	return b.Bytes(), nil
}
