package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ssegate/ssegate/gateway/web/statuspage"
	"github.com/ssegate/ssegate/internal/sse"
	"github.com/ssegate/ssegate/internal/status"
)

// StatusConfig enables the status page: this process's connections, topics
// and rates, evictions, resets, broker subscription and settings, as HTML
// (/status), JSON (/status.json) and SSE (/status/stream).
//
// It is off unless Token or Listen is set, and never public by accident:
//   - Token alone: the pages are on the public listener and answer only a
//     request bearing the token (Authorization: Bearer, or ?token=); any
//     other request gets the same 404 as an unknown path.
//   - Listen: the pages are only on that separate listener (e.g.
//     127.0.0.1:9091), never on the public one; with Token set too they
//     still want the token there.
type StatusConfig struct {
	Token  string
	Listen string
	// Service, Version and Commit name the build in the report.
	Service, Version, Commit string
	// Settings are the process's settings, already masked (status.MaskSetting).
	Settings []status.Setting
}

// Enabled reports whether the status page is on.
func (c StatusConfig) Enabled() bool { return c.Token != "" || c.Listen != "" }

// statusInterval is how often /status/stream pushes a report.
const statusInterval = time.Second

// statusPage serves the status page of one Server.
type statusPage struct {
	cfg     StatusConfig
	server  *Server
	rates   *rates
	page    *statuspage.Page
	started time.Time
	token   [sha256.Size]byte // hash of cfg.Token, compared in constant time
}

func newStatusPage(s *Server, cfg StatusConfig) (*statusPage, error) {
	page, err := statuspage.Load()
	if err != nil {
		return nil, err
	}
	if cfg.Service == "" {
		cfg.Service = "gateway"
	}
	return &statusPage{cfg: cfg, server: s, rates: &rates{}, page: page, started: time.Now(),
		token: sha256.Sum256([]byte(cfg.Token))}, nil
}

// run samples the topics' counters for their rates until ctx ends.
func (p *statusPage) run(ctx context.Context) { p.rates.sample(ctx, p.server.hub) }

// document is the whole status report now.
func (p *statusPage) document() status.Report {
	now := time.Now()
	rep := p.server.report(p.rates, now)
	rep.Service, rep.Version, rep.Commit = p.cfg.Service, p.cfg.Version, p.cfg.Commit
	rep.StartedAt = p.started
	rep.UptimeSeconds = now.Sub(p.started).Seconds()
	rep.Settings = append([]status.Setting{}, p.cfg.Settings...)
	return rep
}

// authorized reports whether r bears the status token (always, with no
// token configured: only the separate listener serves the page then). The
// hashes are compared, so neither the token's bytes nor its length show in
// the time taken.
func (p *statusPage) authorized(r *http.Request) bool {
	if p.cfg.Token == "" {
		return true
	}
	got := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, cred, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			got = strings.TrimSpace(cred)
		}
	}
	if got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], p.token[:]) == 1
}

// routes returns the page's handlers by path; each assumes authorized.
func (p *statusPage) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		status.PagePath:                p.serveHTML,
		status.JSONPath:                p.serveJSON,
		status.StreamPath:              p.serveStream,
		status.PagePath + "/app.js":    p.asset("text/javascript; charset=utf-8", p.page.Script()),
		status.PagePath + "/style.css": p.asset("text/css; charset=utf-8", p.page.Style()),
	}
}

// private sets the headers every answer of the page carries: never cached
// or shared, no referrer (the token may be in the URL), not framed.
func private(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

func (p *statusPage) serveHTML(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	token := ""
	if r.URL.Query().Get("token") != "" {
		token = p.cfg.Token // the page came with it in its URL: its assets and stream need it too
	}
	if err := p.page.Render(&buf, token); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	private(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}

func (p *statusPage) serveJSON(w http.ResponseWriter, _ *http.Request) {
	body, err := json.Marshal(p.document())
	if err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	private(w)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}

func (p *statusPage) asset(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		private(w)
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

// serveStream pushes the report as a "status" event now and every
// statusInterval, framed by the gateway's SSE encoder (internal/sse), until
// the client leaves, a write fails or the server shuts down.
func (p *statusPage) serveStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	private(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	buf := sse.AppendRetry(nil, p.server.cfg.Retry)
	t := time.NewTicker(statusInterval)
	defer t.Stop()
	for {
		data, err := json.Marshal(p.document())
		if err != nil {
			return
		}
		buf = sse.AppendEvent(buf, "", sse.EventName(status.EventName), data)
		_ = rc.SetWriteDeadline(time.Now().Add(p.server.cfg.SendTimeout))
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		buf = buf[:0]
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
