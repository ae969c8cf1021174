package validate

import (
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// ingressNginx is the annotation prefix of ingress-nginx.
const ingressNginx = "nginx.ingress.kubernetes.io/"

// checkIngresses: every backend is a Service port of these manifests, and
// the ingress-nginx settings SSE needs are there (docs/deployment.md,
// "nginx"): no response buffering, and a read timeout well above the
// gateway's keepalive interval (twice it at least; a proxy that closes a
// stream between two pings cuts every idle client).
func checkIngresses(t reporter, m *manifests) {
	t.Helper()
	ping := m.gatewayPingInterval(t)
	for _, ing := range m.ingresses {
		where := "Ingress " + ing.Name
		a := ing.Annotations
		if a[ingressNginx+"proxy-buffering"] != "off" {
			t.Errorf("%s: %sproxy-buffering %q, want \"off\"", where, ingressNginx, a[ingressNginx+"proxy-buffering"])
		}
		for _, name := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			v, ok := a[ingressNginx+name]
			secs, err := strconv.Atoi(v)
			switch {
			case !ok:
				t.Errorf("%s: no %s%s", where, ingressNginx, name)
			case err != nil || secs <= 0:
				t.Errorf("%s: %s%s %q is not a positive number of seconds", where, ingressNginx, name, v)
			case name == "proxy-read-timeout" && time.Duration(secs)*time.Second <= 2*ping:
				t.Errorf("%s: proxy-read-timeout %ds is not well above SSEGATE_PING_INTERVAL %s", where, secs, ping)
			}
		}
		var backends []networkingv1.IngressBackend
		if ing.Spec.DefaultBackend != nil {
			backends = append(backends, *ing.Spec.DefaultBackend)
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				backends = append(backends, p.Backend)
			}
		}
		if len(backends) == 0 {
			t.Errorf("%s: no backends", where)
		}
		for _, b := range backends {
			checkIngressBackend(t, m, where, b)
		}
	}
}

// checkIngressBackend: the backend is a port of a Service defined here.
func checkIngressBackend(t reporter, m *manifests, where string, b networkingv1.IngressBackend) {
	t.Helper()
	if b.Service == nil {
		t.Errorf("%s: a backend is not a Service", where)
		return
	}
	i := slices.IndexFunc(m.services, func(s *corev1.Service) bool { return s.Name == b.Service.Name })
	if i < 0 {
		t.Errorf("%s: backend Service %q is not defined", where, b.Service.Name)
		return
	}
	if !slices.ContainsFunc(m.services[i].Spec.Ports, func(p corev1.ServicePort) bool {
		return (b.Service.Port.Name != "" && p.Name == b.Service.Port.Name) || (b.Service.Port.Number != 0 && p.Port == b.Service.Port.Number)
	}) {
		t.Errorf("%s: backend Service %s has no port %+v", where, b.Service.Name, b.Service.Port)
	}
}

// gatewayPingInterval is the largest SSEGATE_PING_INTERVAL any container
// sees (the contract default 15 s where none is set).
func (m *manifests) gatewayPingInterval(t reporter) time.Duration {
	t.Helper()
	var ping time.Duration
	for _, d := range m.deployments {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			ping = max(ping, m.containerDuration(t, ctr, "SSEGATE_PING_INTERVAL", 15*time.Second))
		}
	}
	return ping
}
