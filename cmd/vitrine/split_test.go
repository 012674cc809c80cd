package main

import (
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/redistest"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// TestSplitShapeOnPostgres runs auth and product as separate processes'
// worth of services on PostgreSQL: the product service verifies tokens
// against the auth service's JWKS, and a token from a second auth instance
// on the same database verifies too.
func TestSplitShapeOnPostgres(t *testing.T) {
	pg := sqltest.NewDatabase(t)
	runCommand(t, nil, "migrate", "--postgres-url", pg)
	runCommand(t, map[string]string{"VITRINE_POSTGRES_URL": pg},
		"user", "create", "--email", "ops@vitrine.test", "--password", "ops-password", "--role", "admin")

	auth1 := startServer(t, nil, "--target", "auth", "--postgres-url", pg)
	auth2 := startServer(t, nil, "--target", "auth", "--postgres-url", pg)
	// Configured through the environment, as in a container.
	products := startServer(t, map[string]string{"VITRINE_POSTGRES_URL": pg, "VITRINE_AUTH_URL": auth1.URL,
		"VITRINE_NATS_URL": bustest.URL(), "VITRINE_NAMESPACE": bustest.Prefix(t)}, "--target", "product")

	for _, auth := range []*server{auth1, auth2} {
		c := &catalog{server: auth}
		token := c.login(t, "ops@vitrine.test", "ops-password")
		r := products.do(call{Method: "POST", Path: "/api/products", Token: token, Body: productBody("Split "+auth.URL[len(auth.URL)-5:], "SPLIT-"+auth.URL[len(auth.URL)-5:], 100, nil)})
		expect(t, r, 201)
	}
	expect(t, auth2.do(call{Method: "POST", Path: "/api/auth/register", Body: map[string]string{"email": "c@vitrine.test", "password": "customer-password"}}), 201)
	customer := (&catalog{server: auth1}).login(t, "c@vitrine.test", "customer-password")
	products.do(call{Method: "POST", Path: "/api/products", Token: customer, Body: productBody("Nope", "NOPE-1", 1, nil)}).expectProblem(t, 403)
	products.do(call{Method: "POST", Path: "/api/products", Token: customer + "x", Body: productBody("Nope", "NOPE-1", 1, nil)}).expectProblem(t, 401)

	var page struct{ Items []productJSON }
	expect(t, products.get("/api/products", ""), 200).JSON(t, &page)
	if len(page.Items) != 2 {
		t.Fatalf("%d products on PostgreSQL, want 2", len(page.Items))
	}
	// Each process serves only its own services.
	products.get("/api/auth/me", customer).expectProblem(t, 404)
	auth1.get("/api/products", "").expectProblem(t, 404)
}

// TestProductAndAuthTogetherOnPostgres: --target=product,auth --postgres-url.
func TestProductAndAuthTogetherOnPostgres(t *testing.T) {
	pg := sqltest.NewDatabase(t)
	runCommand(t, nil, "user", "create", "--postgres-url", pg, "--email", "a@vitrine.test", "--password", "admin-password", "--role", "admin")
	s := startServer(t, nil, "--target", "product,auth", "--postgres-url", pg, "--nats-url", bustest.URL(), "--namespace", bustest.Prefix(t))
	c := &catalog{server: s}
	token := c.login(t, "a@vitrine.test", "admin-password")
	r := expect(t, s.do(call{Method: "POST", Path: "/api/products", Token: token, Body: productBody("Kettle", "KET-1", 2999, nil)}), 201)
	var p productJSON
	r.JSON(t, &p)
	expect(t, s.get("/api/products/kettle", ""), 200)
	var ready struct{ Checks map[string]string }
	expect(t, s.get("/readyz", ""), 200).JSON(t, &ready)
	if ready.Checks["product_db"] != "ok" || ready.Checks["auth_db"] != "ok" {
		t.Fatalf("readyz: %+v", ready)
	}
}

// TestSplitShapeEventsFlowBetweenProcesses: product, search and analytics
// run as separate services sharing PostgreSQL and the local NATS server; a
// product created through the product service becomes searchable on the
// search service, and searches are counted by the analytics service.
func TestSplitShapeEventsFlowBetweenProcesses(t *testing.T) {
	pg := sqltest.NewDatabase(t)
	env := map[string]string{"VITRINE_POSTGRES_URL": pg, "VITRINE_NATS_URL": bustest.URL(), "VITRINE_NAMESPACE": bustest.Prefix(t)}
	runCommand(t, env, "user", "create", "--email", "ops@vitrine.test", "--password", "ops-password", "--role", "admin")
	auth := startServer(t, env, "--target", "auth")
	searches := startServer(t, env, "--target", "search", "--data-dir", t.TempDir()) // public: needs no --auth-url
	env["VITRINE_AUTH_URL"] = auth.URL
	products := startServer(t, env, "--target", "product")
	stats := startServer(t, env, "--target", "analytics")
	token := (&catalog{server: auth}).login(t, "ops@vitrine.test", "ops-password")

	expect(t, products.do(call{Method: "POST", Path: "/api/products", Token: token, Body: productBody("Cast Iron Skillet", "SKIL-1", 3999, nil)}), 201)
	s := &catalog{server: searches}
	eventually(t, 10*time.Second, "the product is searchable on the search service", func() bool {
		return s.search(t, "q=skillet").Total == 1
	})
	eventually(t, 10*time.Second, "the analytics service counts the search", func() bool {
		var top struct{ Items []struct{ Query string } }
		expect(t, stats.get("/api/analytics/searches?window=1h", token), 200).JSON(t, &top)
		return len(top.Items) > 0 && top.Items[0].Query == "skillet"
	})
}

// TestLoginThrottleSharedThroughRedis: two auth instances on one database
// and one Redis count failed logins together, so an attacker cannot spread
// guesses over instances any more than over addresses.
func TestLoginThrottleSharedThroughRedis(t *testing.T) {
	pg := sqltest.NewDatabase(t)
	env := map[string]string{"VITRINE_POSTGRES_URL": pg, "VITRINE_REDIS_URL": "redis://" + redistest.Addr() + "/0",
		"VITRINE_NAMESPACE": bustest.Prefix(t), "VITRINE_LOGIN_THROTTLE_AFTER": "4", "VITRINE_LOGIN_THROTTLE_WAIT": "10m"}
	runCommand(t, env, "user", "create", "--email", "owner@vitrine.test", "--password", "blue kettle orbit")
	one := startServer(t, env, "--target", "auth")
	two := startServer(t, env, "--target", "auth")
	guess := func(s *server) *response {
		return s.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": "owner@vitrine.test", "password": "a wrong guess"}})
	}
	for i := range 4 {
		guess([]*server{one, two}[i%2]).expectProblem(t, 401)
	}
	for _, s := range []*server{one, two} {
		r := guess(s)
		r.expectProblem(t, 429)
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("429 without Retry-After: %v", r.Header)
		}
	}
}
