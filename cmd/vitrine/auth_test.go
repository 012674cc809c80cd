package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAuthFlow(t *testing.T) {
	c := startCatalog(t)
	reg := func(email, password string) *response {
		return c.do(call{Method: "POST", Path: "/api/auth/register", Body: map[string]string{"email": email, "password": password}})
	}
	reg("not-an-email", "long-enough-password").expectField(t, 400, "email")
	reg("short@vitrine.test", "short").expectField(t, 400, "password")
	reg("shopper@vitrine.test", "another-password").expectProblem(t, 409)

	// Login failures look the same whether or not the e-mail exists.
	wrong := c.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": "shopper@vitrine.test", "password": "wrong-password"}})
	unknown := c.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": "nobody@vitrine.test", "password": "wrong-password"}})
	if wrong.expectProblem(t, 401).Detail != unknown.expectProblem(t, 401).Detail {
		t.Fatalf("login failures differ: %s vs %s", wrong.Body, unknown.Body)
	}

	r := expect(t, c.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": "shopper@vitrine.test", "password": "shopper-password"}}), 200)
	var tok struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
	}
	r.JSON(t, &tok)
	if tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.RefreshToken == "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login: %+v %v", tok, r.Header)
	}
	var me struct{ Email, Role string }
	expect(t, c.get("/api/auth/me", tok.AccessToken), 200).JSON(t, &me)
	if me.Email != "shopper@vitrine.test" || me.Role != "customer" {
		t.Fatalf("me: %+v", me)
	}
	c.get("/api/auth/me", "").expectProblem(t, 401)

	// Refresh rotates; reusing the old refresh token revokes the family.
	refresh := func(token string) *response {
		return c.do(call{Method: "POST", Path: "/api/auth/refresh", Body: map[string]string{"refresh_token": token}})
	}
	var next struct {
		RefreshToken string `json:"refresh_token"`
	}
	expect(t, refresh(tok.RefreshToken), 200).JSON(t, &next)
	refresh(tok.RefreshToken).expectProblem(t, 401)
	refresh(next.RefreshToken).expectProblem(t, 401)

	// Logout ends a session's refresh token.
	var other struct {
		RefreshToken string `json:"refresh_token"`
	}
	expect(t, c.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": "shopper@vitrine.test", "password": "shopper-password"}}), 200).JSON(t, &other)
	expect(t, c.do(call{Method: "POST", Path: "/api/auth/logout", Body: map[string]string{"refresh_token": other.RefreshToken}}), 204)
	refresh(other.RefreshToken).expectProblem(t, 401)

	var jwks struct {
		Keys []struct{ Kty, Crv, Kid, Alg string }
	}
	expect(t, c.get("/.well-known/jwks.json", ""), 200).JSON(t, &jwks)
	if len(jwks.Keys) == 0 || jwks.Keys[0].Crv != "Ed25519" || jwks.Keys[0].Alg != "EdDSA" || jwks.Keys[0].Kid == "" {
		t.Fatalf("jwks: %+v", jwks)
	}
}

// TestGracefulShutdown: on SIGTERM (context cancelled) the process first
// reports not ready while still serving, then exits cleanly.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, nil, "--data-dir", dir, "--drain-delay", "1s")
	client := &http.Client{Timeout: 5 * time.Second}
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	deadline := time.Now().Add(900 * time.Millisecond)
	sawDraining := false
	for time.Now().Before(deadline) && !sawDraining {
		resp, err := client.Get(s.URL + "/readyz")
		if err != nil {
			t.Fatalf("request during drain failed: %v", err)
		}
		resp.Body.Close()
		sawDraining = resp.StatusCode == http.StatusServiceUnavailable
		time.Sleep(20 * time.Millisecond)
	}
	if !sawDraining {
		t.Fatal("/readyz never turned 503 while draining")
	}
	// Still serving ordinary requests during the drain window.
	resp, err := client.Get(s.URL + "/api/categories")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("request during drain: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("unclean exit: %v", err)
	}
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", s.stderr.String())
	}
}

// TestRateLimits: past its budget a client gets 429 with Retry-After and
// the RateLimit headers; logins have their own, stricter budget.
func TestRateLimits(t *testing.T) {
	s := startServer(t, nil, "--data-dir", t.TempDir(), "--rate-limit-login", "2/m", "--rate-limit-ip", "20/s:20")
	login := func() *response {
		return s.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": "x@vitrine.test", "password": "guess-guess"}})
	}
	login().expectProblem(t, 401)
	login().expectProblem(t, 401)
	r := login()
	r.expectProblem(t, 429)
	if r.Header.Get("Retry-After") == "" || !strings.Contains(r.Header.Get("RateLimit-Policy"), `"login";q=2;w=60`) {
		t.Fatalf("429 headers: %v", r.Header)
	}
	// Browsing still works: the login budget is separate.
	ok := expect(t, s.get("/api/categories", ""), 200)
	if !strings.Contains(ok.Header.Get("RateLimit"), `"ip"`) {
		t.Fatalf("no RateLimit header on an allowed response: %v", ok.Header)
	}
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		limited = s.get("/api/categories", "").Status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("40 quick requests never hit the 20-request burst")
	}
	expect(t, s.get("/healthz", ""), 200) // operations endpoints are exempt
}
