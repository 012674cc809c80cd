package authn_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

const kid = "key-1"

// fixture is a verifier that knows one Ed25519 key, under kid.
type fixture struct {
	priv     ed25519.PrivateKey
	pub      ed25519.PublicKey
	verifier *authn.Verifier
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyfunc := authn.KidKeyfunc(func(k string) (any, error) {
		if k == kid {
			return pub, nil
		}
		return nil, authn.ErrUnknownKey
	})
	return &fixture{priv: priv, pub: pub,
		verifier: authn.NewVerifier(keyfunc, authn.DefaultIssuer, authn.DefaultAudience, 15*time.Minute)}
}

// claims returns valid claims for a customer, to be spoiled by each test.
func claims() authn.Claims {
	now := time.Now()
	return authn.Claims{
		Role: authn.RoleCustomer,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    authn.DefaultIssuer,
			Subject:   "user-1",
			Audience:  jwt.ClaimStrings{authn.DefaultAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
			ID:        "jti-1",
		},
	}
}

// sign makes an access token (typ at+jwt) with the header fields of extra
// set on top ("typ": nil removes it).
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c authn.Claims, extra ...map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	tok.Header["typ"] = authn.AccessTokenType
	if kid != "" {
		tok.Header["kid"] = kid
	}
	for _, h := range extra {
		for k, v := range h {
			if v == nil {
				delete(tok.Header, k)
			} else {
				tok.Header[k] = v
			}
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertRejected checks that the verifier refuses token as unauthenticated
// and, when cause is not nil, for that reason.
func assertRejected(t *testing.T, v *authn.Verifier, token string, cause error) {
	t.Helper()
	p, err := v.Verify(token)
	if err == nil {
		t.Fatalf("token accepted as %+v", p)
	}
	if !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("error %v is not KindUnauthenticated", err)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Fatalf("rejected with %v, want %v", err, cause)
	}
}

func TestVerifyAcceptsValidToken(t *testing.T) {
	f := newFixture(t)
	p, err := f.verifier.Verify(sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims()))
	if err != nil {
		t.Fatal(err)
	}
	want := authn.Principal{UserID: "user-1", Role: authn.RoleCustomer}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}

func TestVerifyRejectsAlgNone(t *testing.T) {
	f := newFixture(t)
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims()), jwt.ErrTokenSignatureInvalid)
}

func TestVerifyRejectsHMACSignedWithThePublicKey(t *testing.T) {
	// Algorithm confusion: the public key used as an HMAC secret.
	f := newFixture(t)
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodHS256, []byte(f.pub), kid, claims()), jwt.ErrTokenSignatureInvalid)
}

func TestVerifyRejectsAnotherKey(t *testing.T) {
	f := newFixture(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, other, kid, claims()), jwt.ErrTokenSignatureInvalid)
}

func TestVerifyRejectsUnknownOrMissingKid(t *testing.T) {
	f := newFixture(t)
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, "key-2", claims()), authn.ErrUnknownKey)
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, "", claims()), jwt.ErrTokenUnverifiable)
}

func TestVerifyRejectsExpired(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), jwt.ErrTokenExpired)
}

func TestVerifyRejectsMissingExp(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c.ExpiresAt = nil
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), jwt.ErrTokenRequiredClaimMissing)
}

func TestVerifyRejectsWrongAudience(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c.Audience = jwt.ClaimStrings{"another-api"}
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), jwt.ErrTokenInvalidAudience)
}

func TestVerifyRejectsWrongIssuer(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c.Issuer = "someone-else"
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), jwt.ErrTokenInvalidIssuer)
}

func TestVerifyRejectsUnknownRoleOrNoSubject(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c.Role = "root"
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), nil)
	c = claims()
	c.Subject = ""
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), nil)
}

func TestVerifyRejectsTamperedPayload(t *testing.T) {
	f := newFixture(t)
	token := sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims())
	c := claims()
	c.Role = authn.RoleAdmin
	forged := sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c)
	parts, forgedParts := strings.Split(token, "."), strings.Split(forged, ".")
	assertRejected(t, f.verifier, parts[0]+"."+forgedParts[1]+"."+parts[2], jwt.ErrTokenSignatureInvalid)
}

func TestVerifyAcceptsTypeWrittenAsMediaType(t *testing.T) {
	// RFC 9068 §4: "application/at+jwt", in any case, is the same type.
	f := newFixture(t)
	for _, typ := range []string{"application/at+jwt", "AT+JWT"} {
		if _, err := f.verifier.Verify(sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims(), map[string]any{"typ": typ})); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
}

func TestVerifyRejectsOtherTokenTypes(t *testing.T) {
	// A JWT of another kind signed with the same key (an ID token, a plain
	// JWT, one with no typ) is not an access token (RFC 8725 §3.11).
	f := newFixture(t)
	for _, typ := range []any{"JWT", "id_token+jwt", "at+jwt-not", nil} {
		token := sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims(), map[string]any{"typ": typ})
		assertRejected(t, f.verifier, token, authn.ErrNotAccessToken)
	}
}

func TestVerifyRejectsCriticalHeaders(t *testing.T) {
	f := newFixture(t)
	token := sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims(), map[string]any{"crit": []string{"exp"}, "exp": 1})
	assertRejected(t, f.verifier, token, authn.ErrCriticalHeader)
}

func TestVerifyRejectsIssuedInTheFuture(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Minute))
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(10 * time.Minute))
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), jwt.ErrTokenUsedBeforeIssued)
}

func TestVerifyRejectsMissingIssuedAt(t *testing.T) {
	f := newFixture(t)
	c := claims()
	c.IssuedAt = nil
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), authn.ErrIssuedAtRequired)
}

func TestVerifyRejectsLifetimeLongerThanTheAccessTTL(t *testing.T) {
	// A token valid for a day was not minted by the issuer's code path,
	// whatever key signed it; a stolen one would outlive every rotation.
	f := newFixture(t)
	c := claims()
	c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(24 * time.Hour))
	assertRejected(t, f.verifier, sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c), authn.ErrLifetimeTooLong)
	// Exactly the configured lifetime is fine.
	c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(15 * time.Minute))
	if _, err := f.verifier.Verify(sign(t, jwt.SigningMethodEdDSA, f.priv, kid, c)); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticateAndRequire(t *testing.T) {
	f := newFixture(t)
	h := authn.Authenticate(f.verifier, nil)(authn.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authn.FromContext(r.Context())
		_, _ = w.Write([]byte(p.UserID))
	}), authn.RoleAdmin))
	admin := claims()
	admin.Role = authn.RoleAdmin
	for _, tc := range []struct {
		name, authorization string
		want                int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"not bearer", "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"bad token", "Bearer not.a.jwt", http.StatusUnauthorized},
		{"wrong role", "Bearer " + sign(t, jwt.SigningMethodEdDSA, f.priv, kid, claims()), http.StatusForbidden},
		{"admin", "Bearer " + sign(t, jwt.SigningMethodEdDSA, f.priv, kid, admin), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
		})
	}
}

// FuzzVerify feeds arbitrary strings to the verifier. Nothing may panic, and
// whatever it accepts must speak for the one principal our key signed for:
// no mutation of a genuine token may change who it names.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	valid := sign(f, jwt.SigningMethodEdDSA, fx.priv, kid, claims())
	expired := claims()
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, seed := range []string{
		valid,
		sign(f, jwt.SigningMethodEdDSA, fx.priv, kid, expired),
		sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims()),
		sign(f, jwt.SigningMethodHS256, []byte(fx.pub), kid, claims()),
		sign(f, jwt.SigningMethodEdDSA, other, kid, claims()),
		sign(f, jwt.SigningMethodEdDSA, fx.priv, kid, claims(), map[string]any{"typ": "JWT"}),
		sign(f, jwt.SigningMethodEdDSA, fx.priv, kid, claims(), map[string]any{"crit": []string{"x"}}),
		"", ".", "..", "a.b.c", "eyJhbGciOiJFZERTQSJ9..", strings.Repeat("A", 300),
	} {
		f.Add(seed)
	}
	want := authn.Principal{UserID: "user-1", Role: authn.RoleCustomer}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := fx.verifier.Verify(token)
		if err == nil && p != want {
			t.Fatalf("accepted %q as %+v", token, p)
		}
	})
}
