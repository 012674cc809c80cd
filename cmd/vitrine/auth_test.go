package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
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

// TestLoginThrottlePerAccount: addresses taking turns at one account's
// password all meet the same growing wait; the owner gets in once it is
// over, and a success clears the count.
func TestLoginThrottlePerAccount(t *testing.T) {
	s := startServer(t, nil, "--data-dir", t.TempDir(), "--trusted-proxies", "127.0.0.1/32",
		"--login-throttle-after", "3", "--login-throttle-wait", "1s", "--login-throttle-max", "4s", "--admin-addr", "127.0.0.1:0")
	expect(t, s.do(call{Method: "POST", Path: "/api/auth/register", Body: map[string]string{"email": "owner@vitrine.test", "password": "blue kettle orbit"}}), 201)
	address := 0
	login := func(password string) *response {
		address++ // every guess from another address: the per-address limit never sees two
		return s.do(call{Method: "POST", Path: "/api/auth/login", Header: map[string]string{"X-Forwarded-For": "198.51.100." + strconv.Itoa(address)},
			Body: map[string]string{"email": "owner@vitrine.test", "password": "guess-" + strconv.Itoa(address)}})
	}
	owner := func() *response {
		return s.do(call{Method: "POST", Path: "/api/auth/login", Header: map[string]string{"X-Forwarded-For": "203.0.113.7"},
			Body: map[string]string{"email": "owner@vitrine.test", "password": "blue kettle orbit"}})
	}
	retryAfter := func(r *response) int {
		t.Helper()
		r.expectProblem(t, 429)
		n, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || n < 1 {
			t.Fatalf("429 with Retry-After %q", r.Header.Get("Retry-After"))
		}
		return n
	}

	for range 3 {
		login("").expectProblem(t, 401)
	}
	first := retryAfter(login(""))
	if first != 1 {
		t.Fatalf("first wait %ds, want 1s", first)
	}
	retryAfter(owner()) // the owner waits too: the throttle cannot tell who asks
	time.Sleep(time.Duration(first) * time.Second)
	login("").expectProblem(t, 401) // one more guess once the wait is over...
	second := retryAfter(login(""))
	if second != 2 {
		t.Fatalf("second wait %ds, want 2s (doubled)", second)
	}
	time.Sleep(time.Duration(second) * time.Second)
	expect(t, owner(), 200) // ...and the owner gets in after the window
	login("").expectProblem(t, 401)

	metrics := s.metrics()
	for _, want := range []string{"vitrine_auth_login_failures_total 5", "vitrine_auth_login_throttled_total 3"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	logs := s.stderr.String()
	if !strings.Contains(logs, `"msg":"login throttled"`) || !strings.Contains(logs, `"msg":"login failed"`) || !strings.Contains(logs, `"client":"198.51.100.`) {
		t.Errorf("failed and throttled logins are not logged with their client:\n%s", logs)
	}
	if strings.Contains(logs, "owner@vitrine.test") || strings.Contains(logs, "guess-") || strings.Contains(logs, "blue kettle") {
		t.Errorf("the logs hold an e-mail address or a password:\n%s", logs)
	}
}

// TestGuessablePasswordsRefused: at registration and in "vitrine user
// create", a common password or one made from the e-mail address is a
// field error on password.
func TestGuessablePasswordsRefused(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, nil, "--data-dir", dir)
	reg := func(email, password string) *response {
		return s.do(call{Method: "POST", Path: "/api/auth/register", Body: map[string]string{"email": email, "password": password}})
	}
	reg("new@vitrine.test", "password123").expectField(t, 400, "password")
	reg("new@vitrine.test", "new@vitrine.test").expectField(t, 400, "password")
	expect(t, reg("new@vitrine.test", "blue kettle orbit"), 201)

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"user", "create", "--data-dir", dir, "--email", "root@vitrine.test", "--password", "Password1!", "--role", "admin"},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--password ") {
		t.Fatalf("user create with a common password: %v, want a password error", err)
	}
}

// TestAuthURLMustBeSafe: the key set that decides whose tokens are
// believed is fetched over https, or plain http only to loopback, unless
// the operator says otherwise.
func TestAuthURLMustBeSafe(t *testing.T) {
	authDir := t.TempDir()
	runCommand(t, nil, "user", "create", "--data-dir", authDir, "--email", "ops@vitrine.test", "--password", "blue kettle orbit", "--role", "admin")
	auth := startServer(t, nil, "--target", "auth", "--data-dir", authDir)
	port := auth.URL[strings.LastIndex(auth.URL, ":")+1:]
	// 0.0.0.0 reaches this machine, yet is not a loopback address: it
	// stands for any plain-http host here.
	plain := "http://0.0.0.0:" + port

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--target", "product", "--data-dir", t.TempDir(), "--auth-url", plain},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--auth-url") || !strings.Contains(err.Error(), "--auth-url-insecure") {
		t.Fatalf("serve with --auth-url %s: %v, want a refusal naming --auth-url-insecure", plain, err)
	}
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--target", "product", "--data-dir", t.TempDir(), "--auth-url", "https://ops:secret@auth.example"},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("serve with credentials in --auth-url: %v, want a refusal that does not repeat them", err)
	}

	// Said out loud, it is allowed, and tokens verify against that key set.
	products := startServer(t, nil, "--target", "product", "--data-dir", t.TempDir(), "--auth-url", plain, "--auth-url-insecure")
	token := (&catalog{server: auth}).login(t, "ops@vitrine.test", "blue kettle orbit")
	expect(t, products.do(call{Method: "POST", Path: "/api/products", Token: token, Body: productBody("Kettle", "KET-9", 2999, nil)}), 201)
}
