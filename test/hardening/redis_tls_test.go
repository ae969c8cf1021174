package hardening

import (
	"path/filepath"
	"testing"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/testcert"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// tlsRig is a Redis serving TLS with a test certificate, the client
// certificate it trusts, and an unrelated certificate (a wrong CA).
type tlsRig struct {
	srv            *redistest.Server
	server, client testcert.Pair
	other          testcert.Pair
}

// startTLSRedis starts redis-server with tls-port; mutual makes client
// certificates mandatory (tls-auth-clients yes).
func startTLSRedis(t *testing.T, mutual bool) tlsRig {
	t.Helper()
	r := tlsRig{
		server: testcert.Write(t, t.TempDir(), 1),
		client: testcert.WriteClient(t, t.TempDir(), 2),
		other:  testcert.Write(t, t.TempDir(), 3),
	}
	r.srv = redistest.Start(t, redistest.WithTLS(redistest.TLSFiles{
		CertFile: r.server.CertFile, KeyFile: r.server.KeyFile, CAFile: r.client.CertFile, AuthClients: mutual,
	}))
	if r.srv.TLSAddr() == "" {
		t.Skip("needs a redis-server binary (REDIS_ADDR and containers are not configured by tests)")
	}
	return r
}

// TestRedisTLS: both services reach Redis over rediss:// trusting a CA
// file, with and without a client certificate (mutual TLS), and an event
// flows from publish to stream; untrusted or misnamed servers and a
// missing client certificate end the start with one line.
func TestRedisTLS(t *testing.T) {
	t.Run("CAFile", func(t *testing.T) {
		r := startTLSRedis(t, false)
		sec := redisbroker.Security{TLSCAFile: r.server.CertFile}
		tlsEndToEnd(t, r.srv.TLSURL()+"/0", sec)
	})
	t.Run("MutualTLS", func(t *testing.T) {
		r := startTLSRedis(t, true)
		sec := redisbroker.Security{TLSCAFile: r.server.CertFile, TLSCertFile: r.client.CertFile, TLSKeyFile: r.client.KeyFile, TLSServerName: "localhost"}
		tlsEndToEnd(t, r.srv.TLSURL()+"/0", sec)
	})
	t.Run("RefusedAtStart", func(t *testing.T) { tlsRefusedAtStart(t, buildCmds(t)) })
}

// tlsEndToEnd starts both services on url with sec and sees an event go
// through.
func tlsEndToEnd(t *testing.T, url string, sec redisbroker.Security) {
	t.Helper()
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: url, RedisSecurity: sec})
	gw := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: url, RedisSecurity: sec})
	(&degraded{gw: gw, pub: pub}).checkUp(t)
}

func tlsRefusedAtStart(t *testing.T, dir string) {
	plain := startTLSRedis(t, false)
	mutual := startTLSRedis(t, true)
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"wrong CA", []string{"SSEGATE_REDIS_URL=" + plain.srv.TLSURL(), "SSEGATE_REDIS_TLS_CA_FILE=" + plain.other.CertFile},
			"redis TLS certificate not trusted ("},
		{"wrong server name", []string{"SSEGATE_REDIS_URL=" + plain.srv.TLSURL(), "SSEGATE_REDIS_TLS_CA_FILE=" + plain.server.CertFile,
			"SSEGATE_REDIS_TLS_SERVER_NAME=redis.example"}, "redis TLS certificate is for another name ("},
		{"no client certificate", []string{"SSEGATE_REDIS_URL=" + mutual.srv.TLSURL(), "SSEGATE_REDIS_TLS_CA_FILE=" + mutual.server.CertFile},
			"redis refused the TLS handshake ("},
		{"TLS settings without rediss", []string{"SSEGATE_REDIS_URL=" + plain.srv.URL(), "SSEGATE_REDIS_TLS_CA_FILE=" + plain.server.CertFile},
			"SSEGATE_REDIS_TLS_* settings need a rediss:// SSEGATE_REDIS_URL"},
		{"missing CA file", []string{"SSEGATE_REDIS_URL=" + plain.srv.TLSURL(), "SSEGATE_REDIS_TLS_CA_FILE=" + filepath.Join(t.TempDir(), "none.pem")},
			"redis TLS file: stat "},
		{"certificate without key", []string{"SSEGATE_REDIS_URL=" + mutual.srv.TLSURL(), "SSEGATE_REDIS_TLS_CERT_FILE=" + mutual.client.CertFile},
			"SSEGATE_REDIS_TLS_CERT_FILE and SSEGATE_REDIS_TLS_KEY_FILE go together"},
	}
	for _, bin := range []string{"gateway", "publisher"} {
		for _, tt := range tests {
			t.Run(bin+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				stderr, err := run(t, filepath.Join(dir, bin), append(tt.env, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true")...)
				wantOneLine(t, bin, stderr, err, tt.want)
			})
		}
	}
}
