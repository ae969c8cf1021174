package redistest

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// startContainer runs redis:7 with testcontainers' generic API and waits
// until its port listens.
func startContainer(t testing.TB, o options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), containerTimeout)
	defer cancel()
	cmd := append([]string{"redis-server", "--save", "", "--appendonly", "no"}, o.args...)
	ctr, err := testcontainers.Run(ctx, containerImage,
		testcontainers.WithExposedPorts(containerPort),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithWaitStrategy(wait.ForListeningPort(containerPort)),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("redistest: run container %s: %v", containerImage, err)
	}
	ep, err := ctr.PortEndpoint(ctx, containerPort, "")
	if err != nil {
		t.Fatalf("redistest: container %s endpoint: %v", containerImage, err)
	}
	if host, port, err := net.SplitHostPort(ep); err == nil && host == "localhost" {
		ep = net.JoinHostPort(loopbackHost, port)
	}
	if _, err := Exec(ctx, ep, "PING"); err != nil {
		t.Fatalf("redistest: container %s at %s does not answer PING: %v", containerImage, ep, err)
	}
	return &Server{addr: ep, backend: backendContainer}
}

// dockerAnswers reports whether a Docker engine answers GET /_ping within
// about a second. It checks DOCKER_HOST, else the usual socket paths, and
// never waits on a missing engine, so machines without Docker (where
// `docker` is only a client) fall through quickly instead of hanging in
// the Docker SDK's retries.
func dockerAnswers() bool {
	candidates := []string{"/var/run/docker.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "docker.sock"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(h, ".docker", "run", "docker.sock"))
	}
	return dockerReachable(os.Getenv, candidates)
}

// dockerReachable is dockerAnswers with its inputs passed in: DOCKER_HOST
// (and the TLS variables) from getenv, else the unix sockets in sockets.
func dockerReachable(getenv func(string) string, sockets []string) bool {
	if host := getenv("DOCKER_HOST"); host != "" {
		u, err := url.Parse(host)
		if err != nil {
			return false
		}
		switch u.Scheme {
		case "unix":
			return pingDocker("unix", u.Path)
		case "tcp":
			if getenv("DOCKER_TLS_VERIFY") != "" || getenv("DOCKER_CERT_PATH") != "" {
				return dialable("tcp", u.Host) // TLS: reachability is the cheap check
			}
			return pingDocker("tcp", u.Host)
		default:
			return false // ssh://, npipe:// — not probed cheaply; use REDIS_ADDR there
		}
	}
	for _, sock := range sockets {
		if _, err := os.Stat(sock); err == nil && pingDocker("unix", sock) {
			return true
		}
	}
	return false
}

// dialable reports whether a connection to addr can be opened.
func dialable(network, addr string) bool {
	conn, err := net.DialTimeout(network, addr, dockerProbeTime)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// pingDocker sends the Engine API's GET /_ping and wants a 200.
func pingDocker(network, addr string) bool {
	conn, err := net.DialTimeout(network, addr, dockerProbeTime)
	if err != nil {
		return false
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(dockerProbeTime)); err != nil {
		return false
	}
	if _, err := conn.Write([]byte("GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")); err != nil {
		return false
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return false
	}
	f := strings.Fields(status)
	return len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") && f[1] == "200"
}
