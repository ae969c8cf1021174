// Package apispec holds ssegate's OpenAPI 3.1 document, the one
// description of both services' HTTP APIs, and serves it as JSON at
// GET /openapi.json on each service.
//
// The document is written in YAML (openapi.yaml, beside this file) for
// people and converted to JSON once when a service starts. It cannot drift
// from the code: package apispec/spectest validates every request and
// response of the integration suite against it (test/harness routes its
// clients through spectest), and checks that its error-code enums are the
// codes the sources answer.
package apispec

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// Path is where each service serves the document.
const Path = "/openapi.json"

//go:embed openapi.yaml
var source []byte

// YAML returns the document as written in the repository.
func YAML() []byte { return append([]byte(nil), source...) }

// JSON returns the document converted to JSON.
func JSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(source, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		// yaml gives map[any]any for a mapping with a non-string key,
		// which JSON cannot hold: quote such keys ("200":).
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	return out, nil
}

// Register serves the document at GET Path on e.
func Register(e *echo.Echo) error {
	doc, err := JSON()
	if err != nil {
		return err
	}
	e.GET(Path, func(c echo.Context) error {
		return c.JSONBlob(http.StatusOK, doc)
	})
	return nil
}
