package authn_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// TestRemoteKeyfuncBreaker: the auth service fails (500) when a verifier
// starts. The failed fetch opens the breaker, which keeps the verifier
// from asking again at once; once the auth service is back and OpenFor
// is over, the next unknown kid fetches the keys and the token verifies.
func TestRemoteKeyfuncBreaker(t *testing.T) {
	f := newFixture(t)
	body := jwksBody(t, f, 0)
	var down atomic.Bool
	var hits atomic.Int64
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	// One failure in one call opens it.
	policy := resilience.Policy{Timeout: time.Second, FailureRatio: 0.5, MinRequests: 1, Window: 10 * time.Second, OpenFor: 1500 * time.Millisecond}
	breakers := resilience.NewBreakers(policy, slog.New(slog.DiscardHandler))
	kf, err := authn.RemoteKeyfunc(t.Context(), srv.URL, slog.New(slog.DiscardHandler), breakers)
	if err != nil {
		t.Fatal(err)
	}
	v := authn.NewVerifier(kf, authn.DefaultIssuer, authn.DefaultAudience, 15*time.Minute)
	token := sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims())

	// The first fetch failed and opened the breaker: its retries were
	// refused without reaching the server, and so is a token's refetch.
	assertRejected(t, v, token, authn.ErrUnknownKey)
	if n := hits.Load(); n != 1 {
		t.Fatalf("the auth service got %d requests while failing; the open breaker should have stopped after 1", n)
	}

	down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		if _, err := v.Verify(token); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token did not verify within 10s of the auth service coming back")
		}
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("%d requests in all; want the failed one and the one trial after OpenFor", n)
	}
}
