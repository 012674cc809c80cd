package authn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

const goodCredential = "vtc_0198c3a2-7b1e-7000-8000-000000000001_secret"

// fakeAuth stands in for the auth service's credential check endpoint, so
// that what RemoteCredentials asks, and how often, can be seen.
type fakeAuth struct {
	calls  atomic.Int64
	status atomic.Int64 // answer for goodCredential; 200 when zero
}

func (f *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.URL.Path != "/api/auth/credentials/self" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+goodCredential {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if s := f.status.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	_ = json.NewEncoder(w).Encode(authn.CredentialSelf{ID: "0198c3a2-7b1e-7000-8000-000000000001", Name: "checkout",
		Scopes: []string{authn.ScopeAnalyticsPurchases}})
}

func TestRemoteCredentials(t *testing.T) {
	fake := &fakeAuth{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	rc := authn.NewRemoteCredentials(srv.URL+"/", nil)
	ctx := context.Background()

	p, err := rc.VerifyCredential(ctx, goodCredential)
	if err != nil || p.CredentialName != "checkout" || !p.HasScope(authn.ScopeAnalyticsPurchases) || p.Role != "" || p.UserID != "" {
		t.Fatalf("good credential: %+v, %v", p, err)
	}
	if _, err := rc.VerifyCredential(ctx, goodCredential); err != nil || fake.calls.Load() != 1 {
		t.Fatalf("second check: %v after %d calls; want one call, answered from the cache", err, fake.calls.Load())
	}

	bad := "vtc_0198c3a2-7b1e-7000-8000-000000000001_guess"
	for range 3 {
		if _, err := rc.VerifyCredential(ctx, bad); !errs.Is(err, errs.KindUnauthenticated) {
			t.Fatalf("unknown credential: %v", err)
		}
	}
	if n := fake.calls.Load(); n != 2 {
		t.Fatalf("%d calls for three checks of one bad token; refusals are cached too", n)
	}
	if _, err := rc.VerifyCredential(ctx, "vtc_"+strings.Repeat("x", 300)); !errs.Is(err, errs.KindUnauthenticated) || fake.calls.Load() != 2 {
		t.Fatalf("an oversized token: %v (it must not reach the auth service)", err)
	}

	// An auth service that fails is not a verdict: 503, and asked again next time.
	rc = authn.NewRemoteCredentials(srv.URL, nil)
	fake.status.Store(http.StatusInternalServerError)
	if _, err := rc.VerifyCredential(ctx, goodCredential); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("auth failing: %v", err)
	}
	fake.status.Store(0)
	if _, err := rc.VerifyCredential(ctx, goodCredential); err != nil {
		t.Fatalf("auth back: %v", err)
	}
	srv.Close()
	if _, err := authn.NewRemoteCredentials(srv.URL, nil).VerifyCredential(ctx, goodCredential); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("auth gone: %v", err)
	}
}

// Credentials and access tokens share the Authorization header; a
// credential has no role, so role-guarded routes refuse it.
func TestAuthenticateRecognisesCredentials(t *testing.T) {
	f := newFixture(t)
	fake := &fakeAuth{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authn.FromContext(r.Context())
		_, _ = w.Write([]byte(p.CredentialName + "|" + p.UserID))
	})
	open := authn.Authenticate(f.verifier, authn.NewRemoteCredentials(srv.URL, nil))(whoami)
	admin := authn.Authenticate(f.verifier, authn.NewRemoteCredentials(srv.URL, nil))(authn.Require(whoami, authn.RoleAdmin, authn.RoleCustomer))
	noCreds := authn.Authenticate(f.verifier, nil)(whoami)
	for _, tc := range []struct {
		name  string
		h     http.Handler
		token string
		want  int
		body  string
	}{
		{"credential", open, goodCredential, 200, "checkout|"},
		{"customer token", open, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims()), 200, "|user-1"},
		{"unknown credential", open, goodCredential + "x", 401, ""},
		{"credential on a role route", admin, goodCredential, 403, ""},
		{"credential without a verifier", noCreds, goodCredential, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, r)
			if w.Code != tc.want || (tc.body != "" && w.Body.String() != tc.body) {
				t.Fatalf("status %d body %q, want %d %q", w.Code, w.Body, tc.want, tc.body)
			}
		})
	}
}

func TestHasScope(t *testing.T) {
	p := authn.Principal{CredentialID: "c", Scope: "a:b analytics:purchases"}
	if !p.HasScope(authn.ScopeAnalyticsPurchases) || p.HasScope("analytics") || p.HasScope("") {
		t.Fatalf("scopes of %+v", p)
	}
	// A user never has a scope, whatever the field holds.
	if (authn.Principal{UserID: "u", Role: authn.RoleAdmin, Scope: authn.ScopeAnalyticsPurchases}).HasScope(authn.ScopeAnalyticsPurchases) {
		t.Fatal("a user with a scope")
	}
}

// An auth URL that redirects must not carry the credential elsewhere: the
// redirect is not followed, and the check fails as unavailable.
func TestRemoteCredentialsDoNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer target.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirecting.Close()
	_, err := authn.NewRemoteCredentials(redirecting.URL, nil).VerifyCredential(context.Background(), goodCredential)
	if !errs.Is(err, errs.KindUnavailable) || elsewhere.Load() != 0 {
		t.Fatalf("redirected check: %v, %d requests reached the redirect's target", err, elsewhere.Load())
	}
}
