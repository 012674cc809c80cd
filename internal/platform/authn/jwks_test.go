package authn_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
)

// jwksBody is the key set of f with padding bytes of junk alongside the
// keys: still a valid key set, just a big one.
func jwksBody(t *testing.T, f *fixture, padding int) []byte {
	t.Helper()
	set := map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
		"x": base64.RawURLEncoding.EncodeToString(f.pub),
	}}}
	if padding > 0 {
		set["padding"] = strings.Repeat("x", padding)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksServer serves body as the key set and counts the requests it gets.
func jwksServer(t *testing.T, body []byte, withLength bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if withLength {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// remoteVerifier verifies with the key set at url; what it logs goes to
// the returned buffer.
func remoteVerifier(t *testing.T, url string) (*authn.Verifier, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	kf, err := authn.RemoteKeyfunc(t.Context(), url, slog.New(slog.NewTextHandler(logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return authn.NewVerifier(kf, authn.DefaultIssuer, authn.DefaultAudience, 15*time.Minute), logs
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRemoteKeyfuncVerifiesWithTheFetchedKeys(t *testing.T) {
	f := newFixture(t)
	srv, _ := jwksServer(t, jwksBody(t, f, 0), true)
	v, _ := remoteVerifier(t, srv.URL)
	if _, err := v.Verify(sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims())); err != nil {
		t.Fatal(err)
	}
}

func TestRemoteKeyfuncDoesNotFollowRedirects(t *testing.T) {
	f := newFixture(t)
	keys, hits := jwksServer(t, jwksBody(t, f, 0), true)
	redirector := httptest.NewServer(http.RedirectHandler(keys.URL, http.StatusFound))
	t.Cleanup(redirector.Close)

	v, logs := remoteVerifier(t, redirector.URL)
	// The keys were never loaded, so the token's kid is unknown.
	assertRejected(t, v, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims()), authn.ErrUnknownKey)
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect was followed: the key server got %d requests", n)
	}
	if !strings.Contains(logs.String(), authn.ErrJWKSRedirect.Error()) {
		t.Fatalf("the refused redirect was not logged:\n%s", logs)
	}
}

func TestRemoteKeyfuncRefusesAnOversizedKeySet(t *testing.T) {
	f := newFixture(t)
	for _, withLength := range []bool{true, false} {
		t.Run("Content-Length "+strconv.FormatBool(withLength), func(t *testing.T) {
			body := jwksBody(t, f, authn.MaxJWKSBytes)
			srv, hits := jwksServer(t, body, withLength)
			v, logs := remoteVerifier(t, srv.URL)
			assertRejected(t, v, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims()), authn.ErrUnknownKey)
			if hits.Load() == 0 {
				t.Fatal("the key set was never fetched")
			}
			if !strings.Contains(logs.String(), authn.ErrJWKSTooLarge.Error()) {
				t.Fatalf("the oversized key set was not logged:\n%s", logs)
			}
		})
	}
}

func TestCheckAuthURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://auth.internal", false, true},
		{"https://auth.internal:8443/base/", false, true},
		{"http://127.0.0.1:8081", false, true},
		{"http://127.9.9.9:8081", false, true},
		{"http://[::1]:8081", false, true},
		{"http://localhost:8081", false, true},
		{"http://LOCALHOST", false, true},
		{"http://auth.internal:8081", false, false},
		{"http://10.0.0.5:8081", false, false},
		{"http://localhost.evil.example", false, false},
		{"http://127.0.0.1.nip.io", false, false},
		{"http://auth.internal:8081", true, true},
		{"ftp://auth.internal", true, false},
		{"auth.internal:8081", false, false},
		{"https://user:secret@auth.internal", false, false},
		{"https://auth.internal/?next=elsewhere", false, false},
		{"https://", false, false},
	} {
		err := authn.CheckAuthURL(tc.url, tc.insecure)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAuthURL(%q, insecure=%v) = %v, want ok=%v", tc.url, tc.insecure, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}
