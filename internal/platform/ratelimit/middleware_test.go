package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// keyRecorder is a memory limiter that remembers the keys it was asked.
type keyRecorder struct {
	mu   sync.Mutex
	keys []string
	mem  *Memory
}

func (k *keyRecorder) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.mu.Unlock()
	return k.mem.Allow(ctx, key, limit)
}

func (k *keyRecorder) last() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.keys...)
}

func (k *keyRecorder) reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = nil
}

var testConfig = Config{
	PerIP:      Limit{Rate: 2, Period: time.Hour, Burst: 2},
	PerUser:    Limit{Rate: 3, Period: time.Hour, Burst: 3},
	Login:      Limit{Rate: 1, Period: time.Minute, Burst: 1},
	LoginPaths: []string{"/api/auth/login", "/api/auth/register"},
	Exempt:     []string{"/healthz", "/readyz", "/metrics"},
}

// testProxies are the load balancers httpx.Edge believes in these tests.
var testProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}

func newLimitedServer(t *testing.T, cfg Config) (http.Handler, *keyRecorder) {
	t.Helper()
	rec := &keyRecorder{mem: NewMemory(0)}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return bothStages(rec, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ok), rec
}

// bothStages limits h as the server does: after httpx.Edge has found the
// client's address, by address, then (once a caller is known; tests put
// the principal in the context beforehand) by user.
func bothStages(l Limiter, cfg Config, logger *slog.Logger, h http.Handler) http.Handler {
	return httpx.Chain(h, httpx.Edge(testProxies), ByAddress(l, cfg, logger), ByUser(l, cfg, logger))
}

type request struct {
	method, path, remote, xff, user string
}

func serve(h http.Handler, req request) *httptest.ResponseRecorder {
	if req.method == "" {
		req.method = http.MethodGet
	}
	if req.remote == "" {
		req.remote = "192.0.2.1:40000"
	}
	r := httptest.NewRequest(req.method, req.path, nil)
	r.RemoteAddr = req.remote
	if req.xff != "" {
		r.Header.Set("X-Forwarded-For", req.xff)
	}
	if req.user != "" {
		r = r.WithContext(authn.WithPrincipal(r.Context(), authn.Principal{UserID: req.user, Role: authn.RoleCustomer}))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddlewareDeniesWith429RetryAfterAndRateLimitHeaders(t *testing.T) {
	h, _ := newLimitedServer(t, testConfig)
	req := request{path: "/api/products"}

	first := serve(h, req)
	if first.Code != http.StatusOK {
		t.Fatalf("first request: %d", first.Code)
	}
	if got, want := first.Header().Get("RateLimit-Policy"), `"ip";q=2;w=3600`; got != want {
		t.Errorf("RateLimit-Policy = %q, want %q", got, want)
	}
	if got, want := first.Header().Get("RateLimit"), `"ip";r=1;t=1800`; got != want {
		t.Errorf("RateLimit = %q, want %q", got, want)
	}
	if got := first.Header().Get("Retry-After"); got != "" {
		t.Errorf("an allowed response carries Retry-After %q", got)
	}

	if second := serve(h, req); second.Code != http.StatusOK || second.Header().Get("RateLimit") != `"ip";r=0;t=3600` {
		t.Fatalf("second request: %d, RateLimit %q", second.Code, second.Header().Get("RateLimit"))
	}

	third := serve(h, req)
	if third.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: %d, want 429", third.Code)
	}
	if got := third.Header().Get("Retry-After"); got != "1800" {
		t.Errorf("Retry-After = %q, want 1800 (one request per half hour)", got)
	}
	if got, want := third.Header().Get("RateLimit"), `"ip";r=0;t=3600`; got != want {
		t.Errorf("RateLimit on 429 = %q, want %q", got, want)
	}
	if got := third.Header().Get("RateLimit-Policy"); got != `"ip";q=2;w=3600` {
		t.Errorf("RateLimit-Policy on 429 = %q", got)
	}
	if ct := third.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want a problem", ct)
	}
	var p httpx.Problem
	if err := json.Unmarshal(third.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusTooManyRequests || p.Title != "Too Many Requests" || p.Instance != "/api/products" {
		t.Errorf("problem = %+v", p)
	}
}

// Signed-in users are limited per user, and by their address as well:
// the address stage runs before tokens are verified.
func TestMiddlewareLimitsUsersByIDAndEveryoneByIP(t *testing.T) {
	cfg := testConfig
	cfg.PerIP = Limit{Rate: 6, Period: time.Hour, Burst: 6}
	h, rec := newLimitedServer(t, cfg)
	shared := "192.0.2.50:1234" // one office behind one address

	for i := range 3 {
		w := serve(h, request{path: "/api/products", remote: shared, user: "alice"})
		if w.Code != http.StatusOK {
			t.Fatalf("alice request %d: %d", i+1, w.Code)
		}
		if got, want := w.Header().Get("RateLimit-Policy"), `"ip";q=6;w=3600, "user";q=3;w=3600`; got != want {
			t.Fatalf("RateLimit-Policy = %q, want both policies applied: %q", got, want)
		}
	}
	if w := serve(h, request{path: "/api/products", remote: shared, user: "alice"}); w.Code != http.StatusTooManyRequests {
		t.Fatalf("alice past her per-user burst of 3: %d", w.Code)
	} else if w.Header().Get("RateLimit") != `"ip";r=2;t=2400, "user";r=0;t=3600` {
		t.Errorf("RateLimit = %q, want the address's budget and alice's spent one", w.Header().Get("RateLimit"))
	}
	if w := serve(h, request{path: "/api/products", remote: shared, user: "bob"}); w.Code != http.StatusOK {
		t.Fatalf("bob, same address as alice: %d", w.Code)
	}
	if w := serve(h, request{path: "/api/products", remote: shared}); w.Code != http.StatusOK {
		t.Fatalf("anonymous, same address as alice: %d", w.Code)
	}
	// The address has spent its 6: anonymous or signed in, everyone
	// behind it waits.
	if w := serve(h, request{path: "/api/products", remote: shared}); w.Code != http.StatusTooManyRequests {
		t.Fatalf("anonymous, 7th request of the address: %d", w.Code)
	}
	if w := serve(h, request{path: "/api/products", remote: shared, user: "carol"}); w.Code != http.StatusTooManyRequests {
		t.Fatalf("carol, 8th request of the address: %d", w.Code)
	} else if w.Header().Get("RateLimit-Policy") != `"ip";q=6;w=3600` {
		t.Errorf("RateLimit-Policy = %q, want the address policy alone (carol's own budget untouched)", w.Header().Get("RateLimit-Policy"))
	}
	if w := serve(h, request{path: "/api/products", remote: "192.0.2.51:1", user: "carol"}); w.Code != http.StatusOK {
		t.Fatalf("carol from another address: %d", w.Code)
	}

	keys := rec.last()
	want := []string{"ip:192.0.2.50", "user:alice", "ip:192.0.2.50", "user:alice", "ip:192.0.2.50", "user:alice",
		"ip:192.0.2.50", "user:alice", "ip:192.0.2.50", "user:bob", "ip:192.0.2.50", "ip:192.0.2.50",
		"ip:192.0.2.50", "ip:192.0.2.51", "user:carol"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
}

func TestMiddlewareLoginIsStricterPerIPAndPath(t *testing.T) {
	cfg := testConfig
	cfg.PerIP = Limit{Rate: 100, Period: time.Second}
	h, rec := newLimitedServer(t, cfg)
	login := request{method: http.MethodPost, path: "/api/auth/login", remote: "198.51.100.9:5000"}

	first := serve(h, login)
	if first.Code != http.StatusOK {
		t.Fatalf("first login: %d", first.Code)
	}
	if got, want := first.Header().Get("RateLimit-Policy"), `"login";q=1;w=60, "ip";q=100;w=1`; got != want {
		t.Errorf("RateLimit-Policy = %q, want %q", got, want)
	}
	denied := serve(h, login)
	if denied.Code != http.StatusTooManyRequests || denied.Header().Get("Retry-After") != "60" {
		t.Fatalf("second login within the minute: %d, Retry-After %q; want 429 after 60", denied.Code, denied.Header().Get("Retry-After"))
	}
	if got := denied.Header().Get("RateLimit-Policy"); got != `"login";q=1;w=60` {
		t.Errorf("RateLimit-Policy of the denial = %q, want the login policy alone", got)
	}

	// The general per-IP budget is untouched by the login limit…
	if w := serve(h, request{path: "/api/products", remote: login.remote}); w.Code != http.StatusOK {
		t.Fatalf("browsing after a refused login: %d", w.Code)
	}
	// …GET on the login path is not a login attempt…
	if w := serve(h, request{path: "/api/auth/login", remote: login.remote}); w.Code != http.StatusOK {
		t.Fatalf("GET /api/auth/login: %d", w.Code)
	}
	// …registration has a budget of its own, and so has another client.
	if w := serve(h, request{method: http.MethodPost, path: "/api/auth/register", remote: login.remote}); w.Code != http.StatusOK {
		t.Fatalf("register after a refused login: %d", w.Code)
	}
	if w := serve(h, request{method: http.MethodPost, path: "/api/auth/login", remote: "198.51.100.10:5000"}); w.Code != http.StatusOK {
		t.Fatalf("login from another address: %d", w.Code)
	}
	// A token does not lift the login limit.
	if w := serve(h, request{method: http.MethodPost, path: "/api/auth/login", remote: login.remote, user: "mallory"}); w.Code != http.StatusTooManyRequests {
		t.Fatalf("login with a bearer token from a refused address: %d", w.Code)
	}
	if keys := rec.last(); keys[0] != "login:198.51.100.9:/api/auth/login" || keys[1] != "ip:198.51.100.9" {
		t.Fatalf("keys = %v", keys)
	}
}

func TestMiddlewareIgnoresXFFFromUntrustedPeers(t *testing.T) {
	h, rec := newLimitedServer(t, testConfig)
	// A client rotating X-Forwarded-For gains nothing.
	codes := []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests}
	for i, xff := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		if w := serve(h, request{path: "/api/products", remote: "192.0.2.77:999", xff: xff}); w.Code != codes[i] {
			t.Fatalf("request %d with X-Forwarded-For %s: %d, want %d", i+1, xff, w.Code, codes[i])
		}
	}
	for _, k := range rec.last() {
		if k != "ip:192.0.2.77" {
			t.Fatalf("keyed by %q; X-Forwarded-For from an untrusted peer was believed", k)
		}
	}
}

func TestMiddlewareHonoursXFFFromTrustedProxies(t *testing.T) {
	h, rec := newLimitedServer(t, testConfig)
	for _, client := range []string{"203.0.113.1", "203.0.113.2"} {
		for i := range 2 {
			w := serve(h, request{path: "/api/products", remote: "10.0.0.5:4000", xff: client})
			if w.Code != http.StatusOK {
				t.Fatalf("client %s behind the load balancer, request %d: %d", client, i+1, w.Code)
			}
		}
	}
	want := "ip:203.0.113.1 ip:203.0.113.1 ip:203.0.113.2 ip:203.0.113.2"
	if got := strings.Join(rec.last(), " "); got != want {
		t.Fatalf("keys = %s, want %s", got, want)
	}
}

func TestMiddlewareGroupsIPv6By64(t *testing.T) {
	h, rec := newLimitedServer(t, testConfig)
	serve(h, request{path: "/", remote: "[2001:db8:1:2::a]:1"})
	serve(h, request{path: "/", remote: "[2001:db8:1:2:ffff::b]:1"})
	if w := serve(h, request{path: "/", remote: "[2001:db8:1:2::c]:1"}); w.Code != http.StatusTooManyRequests {
		t.Fatalf("third address of one /64: %d, want 429", w.Code)
	}
	if w := serve(h, request{path: "/", remote: "[2001:db8:1:3::a]:1"}); w.Code != http.StatusOK {
		t.Fatalf("another /64: %d", w.Code)
	}
	if keys := rec.last(); keys[0] != "ip:2001:db8:1:2::/64" {
		t.Fatalf("keys = %v", keys)
	}
}

func TestMiddlewareExemptPaths(t *testing.T) {
	h, rec := newLimitedServer(t, testConfig)
	for range 10 {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			w := serve(h, request{path: path})
			if w.Code != http.StatusOK || w.Header().Get("RateLimit") != "" {
				t.Fatalf("%s: %d, RateLimit %q; want 200 without limits", path, w.Code, w.Header().Get("RateLimit"))
			}
		}
	}
	if keys := rec.last(); len(keys) != 0 {
		t.Fatalf("exempt paths consulted the limiter: %v", keys)
	}
	rec.reset()
	if w := serve(h, request{path: "/healthz/extra"}); w.Code != http.StatusOK || len(rec.last()) != 1 {
		t.Fatal("exemption is by exact path, /healthz/extra should be limited")
	}
}

func TestMiddlewareZeroLimitIsOff(t *testing.T) {
	h, rec := newLimitedServer(t, Config{LoginPaths: []string{"/api/auth/login"}})
	for range 20 {
		if w := serve(h, request{method: http.MethodPost, path: "/api/auth/login"}); w.Code != http.StatusOK || w.Header().Get("RateLimit") != "" {
			t.Fatalf("no limits configured: %d %v", w.Code, w.Header())
		}
	}
	if len(rec.last()) != 0 {
		t.Fatal("the limiter was consulted with every limit off")
	}
}

func TestMiddlewareLetsRequestsThroughWhenTheLimiterFails(t *testing.T) {
	logs := &testwait.Buffer{}
	failing := limiterFunc(func(context.Context, string, Limit) (Result, error) {
		return Result{}, errors.New("boom")
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := bothStages(failing, testConfig, slog.New(slog.NewTextHandler(logs, nil)), ok)
	for range 5 {
		if w := serve(h, request{path: "/api/products"}); w.Code != http.StatusOK {
			t.Fatalf("failing limiter: %d, want the request served", w.Code)
		}
	}
	if n := strings.Count(logs.String(), "rate limiter failed"); n != 1 {
		t.Fatalf("%d log lines for 5 failures in a minute, want 1:\n%s", n, logs)
	}
}

func TestMiddlewareRejectsInvalidConfig(t *testing.T) {
	bad := Config{PerIP: Limit{Rate: 5}}
	if err := bad.Validate(); err == nil {
		t.Fatal("a limit without a period validated")
	}
	for name, stage := range map[string]func(Limiter, Config, *slog.Logger) httpx.Middleware{"ByAddress": ByAddress, "ByUser": ByUser} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s accepted an invalid config", name)
				}
			}()
			stage(NewMemory(0), bad, nil)
		}()
	}
}

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// A service credential is limited by its id with the per-user limit, not by
// the address it calls from, nor left unlimited for lack of a user id.
func TestMiddlewareLimitsCredentialsByID(t *testing.T) {
	h, rec := newLimitedServer(t, testConfig)
	as := func(credential, remote string) int {
		r := httptest.NewRequest(http.MethodPost, "/api/analytics/events", nil)
		r.RemoteAddr = remote
		r = r.WithContext(authn.WithPrincipal(r.Context(), authn.Principal{CredentialID: credential, Scope: authn.ScopeAnalyticsPurchases}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 3 {
		if code := as("cred-1", fmt.Sprintf("192.0.2.%d:1", i+1)); code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	if code := as("cred-1", "192.0.2.9:1"); code != http.StatusTooManyRequests {
		t.Fatalf("past the per-user burst from a fresh address: %d", code)
	}
	if code := as("cred-2", "192.0.2.9:1"); code != http.StatusOK {
		t.Fatalf("another credential: %d", code)
	}
	var credentialKeys []string
	for _, k := range rec.last() {
		if strings.HasPrefix(k, "credential:") {
			credentialKeys = append(credentialKeys, k)
		}
	}
	if len(credentialKeys) != 5 || credentialKeys[0] != "credential:cred-1" || credentialKeys[4] != "credential:cred-2" {
		t.Fatalf("credential keys = %v, want cred-1 four times, then cred-2", credentialKeys)
	}
}
