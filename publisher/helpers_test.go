package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/streamid"
)

// fixedNow is the clock of handler tests, so filled-in timestamps are exact.
var fixedNow = time.Date(2026, 1, 27, 22, 13, 37, 123456000, time.FixedZone("CET", 3600))

// countingStore is the real in-process broker with a count of the Publish
// calls that reached it, so "nothing was published" covers every topic,
// including names the broker would never store.
type countingStore struct {
	*membroker.Broker
	calls atomic.Int64
}

func (s *countingStore) Publish(ctx context.Context, req broker.PublishRequest) (broker.PublishResult, error) {
	s.calls.Add(1)
	return s.Broker.Publish(ctx, req)
}

// testServer is the publish API served over real HTTP on loopback.
type testServer struct {
	URL    string
	store  *countingStore
	client *http.Client
}

// startServer serves the publisher routes on an httptest server backed by
// membroker; cfg.Now defaults to fixedNow.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	store := &countingStore{Broker: membroker.New(broker.HistoryConfig{})}
	e := httpserver.NewEcho(httpserver.Options{Registry: reg})
	New(store, cfg).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &testServer{URL: srv.URL, store: store, client: srv.Client()}
}

// request is one POST to the publish API.
type request struct {
	path        string
	contentType string // "-" sends no Content-Type header
	body        string
	chunked     bool // hide the length: Transfer-Encoding: chunked
	header      map[string]string
}

// reply is what the server answered.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (s *testServer) do(t *testing.T, r request) reply {
	t.Helper()
	var body io.Reader = strings.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(strings.NewReader(r.body)) // unknown length
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+r.path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	switch r.contentType {
	case "":
		req.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", r.path, err)
	}
	defer resp.Body.Close()
	if r.chunked && len(resp.Request.TransferEncoding) == 0 && resp.Request.ContentLength > 0 {
		t.Fatalf("request was sent with a Content-Length, want chunked")
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// post sends body as application/json to path.
func (s *testServer) post(t *testing.T, path, body string, header map[string]string) reply {
	t.Helper()
	return s.do(t, request{path: path, body: body, header: header})
}

// history returns every retained event of topic.
func (s *testServer) history(t *testing.T, topic string) []broker.Entry {
	t.Helper()
	page, err := s.store.History(context.Background(), topic, streamid.Zero, streamid.Zero, 1000)
	if err != nil {
		t.Fatalf("history %q: %v", topic, err)
	}
	return page.Entries
}

// errorBody is the JSON error every refusal carries.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError checks status, a JSON error body with exactly the code and a
// non-empty message, and returns the message.
func wantError(t *testing.T, r reply, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var eb errorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if eb.Error.Code != code {
		t.Errorf("error code %q, want %q (message %q)", eb.Error.Code, code, eb.Error.Message)
	}
	if eb.Error.Message == "" {
		t.Errorf("error body %s has no message", r.body)
	}
	return eb.Error.Message
}

// okBody is a successful publish answer.
type okBody struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Receivers *int64 `json:"receivers"`
}

// wantPublished checks a 202 (or 200 replay) answer with exactly the keys
// id, topic and receivers, and returns it.
func wantPublished(t *testing.T, r reply, status int, topic string) okBody {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &keys); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	if len(keys) != 3 {
		t.Errorf("answer %s: want exactly id, topic, receivers", r.body)
	}
	var ok okBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ok); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	if _, err := streamid.Parse(ok.ID); err != nil || ok.ID == "0-0" {
		t.Errorf("id %q is not a stream id: %v", ok.ID, err)
	}
	if ok.Topic != topic {
		t.Errorf("topic %q, want %q", ok.Topic, topic)
	}
	if ok.Receivers == nil || *ok.Receivers < 0 {
		t.Errorf("receivers missing or negative in %s", r.body)
	}
	return ok
}

// nested returns depth levels of arrays around 1: nested(2) is "[[1]]".
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}
