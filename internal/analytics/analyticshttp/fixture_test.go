package analyticshttp_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/analytics/analyticshttp"
	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// now is the service's clock in these tests: half past ten and a bit.
var now = time.Date(2026, 3, 2, 10, 30, 15, 0, time.UTC)

const kid = "test-key"

// fixture is the analytics HTTP API on a real SQLite store, behind the
// authentication middleware the lead installs globally, with a clock that
// stands still and three catalog products: p1, p2, p3.
type fixture struct {
	t        testing.TB
	svc      *analytics.Service
	handler  http.Handler
	admin    string // bearer tokens
	customer string
	checkout string // a service credential with the analytics:purchases scope
}

// Service credentials the fixture knows. The auth service, which knows
// the real ones, is not part of this package: a stand-in answers for it.
const (
	checkoutCredential = "vtc_checkout"
	unscopedCredential = "vtc_unscoped"
)

type credentials struct{}

func (credentials) VerifyCredential(_ context.Context, token string) (authn.Principal, error) {
	switch token {
	case checkoutCredential:
		return authn.Principal{CredentialID: "c1", CredentialName: "checkout", Scope: authn.ScopeAnalyticsPurchases}, nil
	case unscopedCredential:
		return authn.Principal{CredentialID: "c2", CredentialName: "other"}, nil
	}
	return authn.Principal{}, authn.ErrInvalidCredential
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureConfig(t, analytics.Config{})
}

// newFixtureConfig is newFixture with a service tuned by cfg (its clock is
// always the test's).
func newFixtureConfig(t testing.TB, cfg analytics.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := analyticsdb.Open(ctx, sqltest.Config(t, sqldb.SQLite, "analytics"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg.Now = func() time.Time { return now }
	svc := analytics.NewService(store, cfg)
	for _, id := range []string{"p1", "p2", "p3"} {
		if err := svc.ApplyProduct(ctx, events.ProductChanged{Op: events.OpUpsert, ID: id, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	verifier := authn.NewVerifier(authn.KidKeyfunc(func(k string) (any, error) {
		if k == kid {
			return pub, nil
		}
		return nil, authn.ErrUnknownKey
	}), authn.DefaultIssuer, authn.DefaultAudience, time.Hour)
	rt := httpx.NewRouter()
	analyticshttp.Routes(rt, svc)
	return &fixture{
		t: t, svc: svc, handler: httpx.Edge(nil)(authn.Authenticate(verifier, credentials{})(rt)),
		admin:    token(t, priv, authn.RoleAdmin),
		customer: token(t, priv, authn.RoleCustomer),
		checkout: checkoutCredential,
	}
}

func token(t testing.TB, key ed25519.PrivateKey, role string) string {
	t.Helper()
	issued := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, authn.Claims{
		Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: authn.DefaultIssuer, Subject: "user-" + role, Audience: jwt.ClaimStrings{authn.DefaultAudience},
			IssuedAt: jwt.NewNumericDate(issued), ExpiresAt: jwt.NewNumericDate(issued.Add(time.Hour)),
		},
	})
	tok.Header["kid"] = kid
	tok.Header["typ"] = authn.AccessTokenType
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do sends a request with a body of contentType (none when empty).
func (f *fixture) do(method, target, bearer, contentType, body string) *httptest.ResponseRecorder {
	return f.doFrom("192.0.2.1:1234", method, target, bearer, contentType, body)
}

// doFrom is do from the client address remote.
func (f *fixture) doFrom(remote, method, target, bearer, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = remote
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

// ingest posts a batch as the checkout service, whose events all count,
// and returns the result, insisting on 202.
func (f *fixture) ingest(items ...any) analytics.IngestResult {
	f.t.Helper()
	return f.ingestAs(f.checkout, "192.0.2.1:1234", items...)
}

// ingestAs posts a batch with bearer (none when empty) from the client
// address remote.
func (f *fixture) ingestAs(bearer, remote string, items ...any) analytics.IngestResult {
	f.t.Helper()
	w := f.doFrom(remote, "POST", "/api/analytics/events", bearer, "application/json", batchBody(f.t, items...))
	if w.Code != http.StatusAccepted {
		f.t.Fatalf("POST events: status %d: %s", w.Code, w.Body)
	}
	var res analytics.IngestResult
	decode(f.t, w, &res)
	return res
}

func batchBody(t testing.TB, items ...any) string {
	t.Helper()
	if items == nil {
		items = []any{}
	}
	body, err := json.Marshal(map[string]any{"events": items})
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// get reads an admin report, insisting on 200.
func (f *fixture) get(target string, into any) {
	f.t.Helper()
	w := f.do("GET", target, f.admin, "", "")
	if w.Code != http.StatusOK {
		f.t.Fatalf("GET %s: status %d: %s", target, w.Code, w.Body)
	}
	decode(f.t, w, into)
}

func (f *fixture) search(id, query string, results int, at time.Time) {
	f.t.Helper()
	if err := f.svc.ApplySearch(context.Background(), events.SearchPerformed{ID: id, Query: query, Results: results, At: at}); err != nil {
		f.t.Fatal(err)
	}
}

func decode(t testing.TB, w *httptest.ResponseRecorder, into any) {
	t.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), into); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
}

// problemFields returns the fields a problem response names, insisting on
// the status and the problem media type.
func problemFields(t testing.TB, w *httptest.ResponseRecorder, status int) []string {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want a problem", ct)
	}
	var p httpx.Problem
	decode(t, w, &p)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	return fields
}

// ev builds a batch item; fields not given are left out of the JSON.
type ev map[string]any

func view(id, product string, at time.Time) ev {
	return ev{"id": id, "type": "view", "product_id": product, "at": at.Format(time.RFC3339)}
}

func purchase(id, product string, quantity int, at time.Time) ev {
	return ev{"id": id, "type": "purchase", "product_id": product, "quantity": quantity, "at": at.Format(time.RFC3339)}
}

func cart(id, product string, at time.Time) ev {
	return ev{"id": id, "type": "add_to_cart", "product_id": product, "at": at.Format(time.RFC3339)}
}

// recordingPublisher is a StatsPublisher test double that keeps what it is
// sent, and fails the next calls when told to (a bus that is down).
type recordingPublisher struct {
	mu       sync.Mutex
	batches  []events.ProductStats
	failures int // calls still to fail
	calls    int
}

var errBusDown = errors.New("bus down")

func (p *recordingPublisher) PublishStats(_ context.Context, s events.ProductStats) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.failures > 0 {
		p.failures--
		return errBusDown
	}
	p.batches = append(p.batches, s)
	return nil
}

func (p *recordingPublisher) failNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = n
}

// sent returns the batches published so far and forgets them.
func (p *recordingPublisher) sent() []events.ProductStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.batches
	p.batches = nil
	return b
}

// batchItems returns the items of the batches published so far and forgets them.
func (p *recordingPublisher) batchItems() [][]events.ProductStat {
	var items [][]events.ProductStat
	for _, b := range p.sent() {
		items = append(items, b.Items)
	}
	return items
}

func (p *recordingPublisher) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}
