// Package spectest checks real HTTP exchanges against ssegate's OpenAPI
// document (package apispec) with kin-openapi, so the document cannot
// drift from what the services do. test/harness sends every request of the
// integration suites through Transport, which fails the test on the first
// exchange the document does not describe.
//
// An exchange passes when:
//   - its path and method are documented, or it was answered with a
//     documented refusal of unknown routes (404, 405, and the 403, 421 and
//     431 that middleware sends before routing);
//   - the request conforms to the operation, or it does not and the answer
//     is a documented 4xx/5xx of the operation (tests send bad requests on
//     purpose: those must be refused, never accepted);
//   - the status is documented for the operation (no default responses);
//   - the body validates against the schema of its status and media type,
//     objects allowing no undocumented field (additionalProperties: false
//     in the document); a text/event-stream body is a stream and only its
//     status and headers are checked, other non-JSON bodies (metrics, the
//     demo page) only their documented media type;
//   - every response header is documented for that status, except the
//     generic HTTP framing headers of genericHeaders.
package spectest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ssegate/ssegate/internal/apispec"
)

// genericHeaders are response headers of HTTP's framing rather than of
// the API (RFC 9110 §6.4, §7.6.1, §8.6, §6.6.1), or added by a proxy in
// front of the service (Server, §10.2.4: nginx in the proxy tests), never
// required in the document. Content-Type is checked against the documented
// media types.
var genericHeaders = map[string]bool{
	"Date": true, "Content-Length": true, "Content-Type": true, "Transfer-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Content-Encoding": true, "Server": true,
}

// Validator checks exchanges against the document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	// unrouted answers requests whose path or method the document does not
	// list (a synthetic operation built from the document's components).
	unrouted *openapi3.Operation
}

// New loads the document as served (JSON) and validates it.
func New() (*Validator, error) {
	raw, err := apispec.JSON()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not valid OpenAPI: %w", err)
	}
	// The servers name the default ports; tests listen on free ones.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	un := openapi3.NewOperation()
	un.Responses = openapi3.NewResponses()
	for status, name := range map[int]string{403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 421: "MisdirectedRequest", 431: "HeadersTooLarge"} {
		ref := doc.Components.Responses[name]
		if ref == nil {
			return nil, fmt.Errorf("openapi.json: components.responses.%s is missing", name)
		}
		un.Responses.Set(fmt.Sprint(status), ref)
	}
	return &Validator{doc: doc, router: router, unrouted: un}, nil
}

// Doc returns the loaded document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Check validates one exchange: req with its body reqBody, and resp with
// its body respBody (ignored for a text/event-stream).
func (v *Validator) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	ctx := req.Context()
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: cloneWithBody(req, reqBody), Options: opts}
	route, params, err := v.router.FindRoute(in.Request)
	switch {
	case unrouted(err):
		route = &routers.Route{Spec: v.doc, Path: req.URL.Path, Method: req.Method, Operation: v.unrouted}
		if resp.StatusCode < 400 {
			return fmt.Errorf("%s %s: undocumented endpoint answered %d", req.Method, req.URL.Path, resp.StatusCode)
		}
	case err != nil:
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	default:
		in.Route, in.PathParams = route, params
		if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && resp.StatusCode < 400 {
			return fmt.Errorf("%s %s: the request does not conform to the document, yet it was answered %d: %w",
				req.Method, req.URL.Path, resp.StatusCode, reqErr)
		}
	}
	in.Route = route
	return v.checkResponse(ctx, in, resp, respBody)
}

// unrouted reports whether err is the router's "no such path" or "no such
// method" (the legacy router returns fresh RouteErrors with the sentinels'
// reasons, so errors.Is does not match them).
func unrouted(err error) bool {
	var re *routers.RouteError
	return errors.As(err, &re) && (re.Reason == routers.ErrPathNotFound.Error() || re.Reason == routers.ErrMethodNotAllowed.Error())
}

// checkResponse validates status, headers and body of resp for in.Route.
func (v *Validator) checkResponse(ctx context.Context, in *openapi3filter.RequestValidationInput, resp *http.Response, body []byte) error {
	where := fmt.Sprintf("%s %s → %d", in.Request.Method, in.Request.URL.Path, resp.StatusCode)
	ref := in.Route.Operation.Responses.Status(resp.StatusCode)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s: status not documented for this operation", where)
	}
	if err := undocumentedHeaders(ref.Value, resp.Header); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	ct := resp.Header.Get("Content-Type")
	if ref.Value.Content.Get(ct) == nil && (len(body) > 0 || ct != "") {
		return fmt.Errorf("%s: Content-Type %q not documented", where, ct)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: in.Options,
	}
	if !isJSON(ct) {
		// A stream, or text (metrics, the demo page): status, headers and
		// media type only; the document describes the frame grammar in
		// words.
		opts := *in.Options
		opts.ExcludeResponseBody = true
		out.Options = &opts
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// undocumentedHeaders names the headers of h that resp does not document.
func undocumentedHeaders(resp *openapi3.Response, h http.Header) error {
	var extra []string
	for name := range h {
		if genericHeaders[name] {
			continue
		}
		if _, ok := lookupHeader(resp.Headers, name); !ok {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("undocumented response headers %v", extra)
	}
	return nil
}

func lookupHeader(hs openapi3.Headers, name string) (*openapi3.HeaderRef, bool) {
	for k, v := range hs {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(strings.ToLower(mt)) == "application/json"
}

// cloneWithBody is req with a fresh reader over body, for validation.
func cloneWithBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = http.NoBody
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return r
}
