package localcluster

import "strings"

// A Route sends the requests whose path starts with Prefix to Service.
type Route struct {
	Prefix  string
	Service string
}

// Routes are the load balancer's path routes, the reference's listener
// rules: the one table that deploy/haproxy/haproxy.cfg, its compose twin
// and the Kubernetes Ingress are held to (drift_test.go). No prefix is a
// prefix of another's, so their order does not matter.
var Routes = []Route{
	{"/api/auth/", "auth"},
	{"/.well-known/", "auth"},
	{"/api/search", "search"},
	{"/api/analytics/", "analytics"},
	{"/api/products", "product"},
	{"/api/categories", "product"},
	{"/images/", "product"},
}

// DefaultService answers every other path: /healthz, /readyz,
// /openapi.json, /api/ops/traffic and the console (/ and /assets/), which
// any instance serves.
const DefaultService = "product"

// ServiceFor is the service the load balancer sends a path to.
func ServiceFor(path string) string {
	for _, r := range Routes {
		if strings.HasPrefix(path, r.Prefix) {
			return r.Service
		}
	}
	return DefaultService
}
