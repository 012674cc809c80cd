package authhttp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/auth/authhttp"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// clock is the services' time, moved by tests that rotate keys; the
// verifiers judge exp and iat by it too.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

const (
	rotation = time.Hour
	lead     = 5 * time.Minute
)

func openStore(t *testing.T, cfg sqldb.Config) *authdb.Store {
	t.Helper()
	s, err := authdb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newService(t *testing.T, store auth.Store, clk *clock) *auth.Service {
	t.Helper()
	svc, err := auth.NewService(store, auth.Config{
		KeyRotation:     rotation,
		KeyPublishAhead: lead,
		Argon2:          auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, // fast tests
		Now:             clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// serve puts the auth routes behind the authentication middleware the
// gateway installs, verifying in process with the service's own keys.
func serve(t *testing.T, svc *auth.Service, clk *clock) *api {
	t.Helper()
	rt := httpx.NewRouter()
	authhttp.Routes(rt, svc)
	v := authn.NewVerifier(svc.Keyfunc(), authn.DefaultIssuer, authn.DefaultAudience, authn.DefaultAccessTTL, authn.WithClock(clk.Now))
	srv := httptest.NewServer(authn.Authenticate(v, svc)(rt))
	t.Cleanup(srv.Close)
	return &api{t: t, url: srv.URL}
}

// newAPI is one auth instance on a fresh SQLite database.
func newAPI(t *testing.T) (*api, *auth.Service, *clock) {
	clk := newClock()
	svc := newService(t, openStore(t, sqltest.Config(t, sqldb.SQLite, "auth")), clk)
	return serve(t, svc, clk), svc, clk
}

type api struct {
	t   *testing.T
	url string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (a *api) call(method, path, bearer string, body any) *response {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		if s, ok := body.(string); ok { // raw JSON
			b = []byte(s)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.url+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

type user struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

func (a *api) register(email, password string) user {
	a.t.Helper()
	var u user
	a.call("POST", "/api/auth/register", "", map[string]string{"email": email, "password": password}).want(a.t, 201).decode(a.t, &u)
	return u
}

func (a *api) login(email, password string) tokens {
	a.t.Helper()
	var tk tokens
	a.call("POST", "/api/auth/login", "", map[string]string{"email": email, "password": password}).want(a.t, 200).decode(a.t, &tk)
	return tk
}

func (a *api) refresh(token string) *response {
	return a.call("POST", "/api/auth/refresh", "", map[string]string{"refresh_token": token})
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, &authn.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func TestRegisterLoginMe(t *testing.T) {
	a, _, _ := newAPI(t)

	res := a.call("POST", "/api/auth/register", "", map[string]string{"email": " Ada@Example.COM ", "password": "correct horse"}).want(t, 201)
	if strings.Contains(string(res.body), "argon2") || strings.Contains(string(res.body), "password") {
		t.Fatalf("the response leaks the password hash: %s", res.body)
	}
	var u user
	res.decode(t, &u)
	if u.ID == "" || u.Email != "ada@example.com" || u.Role != authn.RoleCustomer || u.CreatedAt.IsZero() {
		t.Fatalf("registered %+v", u)
	}

	res = a.call("POST", "/api/auth/login", "", map[string]string{"email": "ADA@example.com", "password": "correct horse"}).want(t, 200)
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("token response Cache-Control %q, want no-store", cc)
	}
	var tk tokens
	res.decode(t, &tk)
	if tk.AccessToken == "" || tk.RefreshToken == "" || tk.TokenType != "Bearer" || tk.ExpiresIn != 900 {
		t.Fatalf("login returned %+v", tk)
	}

	var me user
	a.call("GET", "/api/auth/me", tk.AccessToken, nil).want(t, 200).decode(t, &me)
	if me.ID != u.ID || me.Email != u.Email || me.Role != u.Role || !me.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("me is %+v, want %+v", me, u)
	}
	a.call("GET", "/api/auth/me", "", nil).want(t, 401)
	a.call("GET", "/api/auth/me", "not-a-token", nil).want(t, 401)
}

func TestAccessTokenClaims(t *testing.T) {
	a, _, _ := newAPI(t)
	u := a.register("ada@example.com", "correct horse")
	tk := a.login("ada@example.com", "correct horse")

	var c authn.Claims
	tok, _, err := jwt.NewParser().ParseUnverified(tk.AccessToken, &c)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Method.Alg() != "EdDSA" || kidOf(t, tk.AccessToken) == "" || tok.Header["typ"] != "at+jwt" {
		t.Fatalf("header %v", tok.Header)
	}
	// Anyone holding the token can read it: it names the account by id only.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tk.AccessToken, ".")[1])
	if err != nil || strings.Contains(string(payload), "email") || strings.Contains(string(payload), "ada@") {
		t.Fatalf("the access token carries the e-mail address: %s (%v)", payload, err)
	}
	if c.Subject != u.ID || c.Role != authn.RoleCustomer || c.Issuer != authn.DefaultIssuer ||
		len(c.Audience) != 1 || c.Audience[0] != authn.DefaultAudience || c.ID == "" || c.IssuedAt == nil ||
		c.ExpiresAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) != 15*time.Minute {
		t.Fatalf("claims %+v", c)
	}
}

func TestRegisterValidation(t *testing.T) {
	a, _, _ := newAPI(t)
	for _, tc := range []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"bad e-mail and short password", map[string]string{"email": "not-an-email", "password": "short"}, 400, []string{"email", "password"}},
		{"display name", map[string]string{"email": "Ada <ada@example.com>", "password": "correct horse"}, 400, []string{"email"}},
		{"long e-mail", map[string]string{"email": strings.Repeat("a", 250) + "@example.com", "password": "correct horse"}, 400, []string{"email"}},
		{"long password", map[string]string{"email": "ada@example.com", "password": strings.Repeat("p", 129)}, 400, []string{"password"}},
		{"missing fields", map[string]string{}, 400, []string{"email", "password"}},
		{"unknown field", map[string]string{"email": "ada@example.com", "password": "correct horse", "role": "admin"}, 400, []string{"role"}},
		{"not JSON", `{"email":`, 400, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p problem
			a.call("POST", "/api/auth/register", "", tc.body).want(t, tc.status).decode(t, &p)
			var got []string
			for _, e := range p.Errors {
				got = append(got, e.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("field errors %+v, want fields %v", p.Errors, tc.fields)
			}
		})
	}
	// 128 characters, multi-byte, is the longest password allowed.
	a.register("ada@example.com", strings.Repeat("é", 128))
}

func TestRegisterDuplicateEmail(t *testing.T) {
	a, _, _ := newAPI(t)
	a.register("ada@example.com", "correct horse")
	var p problem
	a.call("POST", "/api/auth/register", "", map[string]string{"email": "ADA@example.com", "password": "another one"}).want(t, 409).decode(t, &p)
	if p.Detail == "" {
		t.Fatal("409 without a detail")
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	a, _, _ := newAPI(t)
	a.register("ada@example.com", "correct horse")
	wrongPassword := a.call("POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "wrong horse"}).want(t, 401)
	unknownEmail := a.call("POST", "/api/auth/login", "", map[string]string{"email": "bob@example.com", "password": "correct horse"}).want(t, 401)
	if !bytes.Equal(wrongPassword.body, unknownEmail.body) {
		t.Fatalf("a wrong password answers\n%s\nbut an unknown e-mail answers\n%s", wrongPassword.body, unknownEmail.body)
	}
	if wrongPassword.header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

func TestRefreshRotates(t *testing.T) {
	a, _, _ := newAPI(t)
	a.register("ada@example.com", "correct horse")
	first := a.login("ada@example.com", "correct horse")

	res := a.refresh(first.RefreshToken).want(t, 200)
	if res.header.Get("Cache-Control") != "no-store" {
		t.Fatal("refresh response may be cached")
	}
	var second tokens
	res.decode(t, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not issue a new pair")
	}
	a.call("GET", "/api/auth/me", second.AccessToken, nil).want(t, 200)
	var third tokens
	a.refresh(second.RefreshToken).want(t, 200).decode(t, &third)

	a.refresh("").want(t, 400)
	a.refresh("garbage").want(t, 401)
}

func TestReusedRefreshTokenRevokesFamily(t *testing.T) {
	a, _, _ := newAPI(t)
	a.register("ada@example.com", "correct horse")
	first := a.login("ada@example.com", "correct horse")
	other := a.login("ada@example.com", "correct horse") // another device: another family
	var second tokens
	a.refresh(first.RefreshToken).want(t, 200).decode(t, &second)

	// The spent token comes back: someone copied it.
	var p problem
	a.refresh(first.RefreshToken).want(t, 401).decode(t, &p)
	// The newest token of the family is dead as well, whoever holds it.
	a.refresh(second.RefreshToken).want(t, 401)
	// The other device's session is unaffected.
	a.refresh(other.RefreshToken).want(t, 200)
}

func TestLogoutRevokesFamily(t *testing.T) {
	a, _, _ := newAPI(t)
	a.register("ada@example.com", "correct horse")
	first := a.login("ada@example.com", "correct horse")
	var second tokens
	a.refresh(first.RefreshToken).want(t, 200).decode(t, &second)

	res := a.call("POST", "/api/auth/logout", "", map[string]string{"refresh_token": second.RefreshToken}).want(t, 204)
	if len(res.body) != 0 {
		t.Fatalf("204 with a body: %s", res.body)
	}
	a.refresh(second.RefreshToken).want(t, 401)
	// Logging out twice, or with a token that was never ours, is harmless.
	a.call("POST", "/api/auth/logout", "", map[string]string{"refresh_token": second.RefreshToken}).want(t, 204)
	a.call("POST", "/api/auth/logout", "", map[string]string{"refresh_token": "never-issued"}).want(t, 204)
	a.call("POST", "/api/auth/logout", "", map[string]string{}).want(t, 400)
}

func TestAdminCreatedByCLI(t *testing.T) {
	a, svc, _ := newAPI(t)
	if _, err := svc.CreateUser(context.Background(), "Root@Example.com", "correct horse", authn.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	var me user
	a.call("GET", "/api/auth/me", a.login("root@example.com", "correct horse").AccessToken, nil).want(t, 200).decode(t, &me)
	if me.Role != authn.RoleAdmin {
		t.Fatalf("me %+v", me)
	}
	if _, err := svc.CreateUser(context.Background(), "x@example.com", "correct horse", "superuser"); err == nil {
		t.Fatal("created a user with an unknown role")
	}
}

// Two instances on one database share keys: a token one issues verifies
// on the other, in the embedded and in the split shape.
func TestTwoInstancesShareKeys(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			cfg := sqltest.Config(t, d, "auth")
			clk := newClock()
			one := serve(t, newService(t, openStore(t, cfg), clk), clk)
			two := serve(t, newService(t, openStore(t, cfg), clk), clk)

			one.register("ada@example.com", "correct horse")
			tk := one.login("ada@example.com", "correct horse")
			two.call("GET", "/api/auth/me", tk.AccessToken, nil).want(t, 200)
			// The refresh token is shared state too.
			var next tokens
			two.refresh(tk.RefreshToken).want(t, 200).decode(t, &next)
			one.refresh(tk.RefreshToken).want(t, 401)

			j1 := one.call("GET", "/.well-known/jwks.json", "", nil).want(t, 200)
			j2 := two.call("GET", "/.well-known/jwks.json", "", nil).want(t, 200)
			if !bytes.Equal(j1.body, j2.body) {
				t.Fatalf("instances publish different keys:\n%s\n%s", j1.body, j2.body)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	cfg := sqltest.Config(t, sqldb.SQLite, "auth")
	clk := newClock()
	svc := newService(t, openStore(t, cfg), clk)
	a := serve(t, svc, clk)
	// Another instance that hears of the new key only from a token.
	b := serve(t, newService(t, openStore(t, cfg), clk), clk)

	// The old token is issued a minute before the period ends, so that it
	// is still unexpired once the new key signs.
	clk.Set(clk.Now().Truncate(rotation).Add(rotation - time.Minute))
	a.register("ada@example.com", "correct horse")
	old := a.login("ada@example.com", "correct horse")
	oldKid := kidOf(t, old.AccessToken)

	// A new period begins: the new key is published at once...
	start := clk.Now()
	clk.Set(start.Truncate(rotation).Add(rotation + time.Second))
	if err := svc.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.RotateKeys(ctx); err != nil { // idempotent within a period
		t.Fatal(err)
	}
	if kids := publishedKids(t, a); len(kids) != 2 || kids[1] != oldKid {
		t.Fatalf("published %v, want the new kid and %s", kids, oldKid)
	}
	newKid := publishedKids(t, a)[0]
	// ...but signs only once it has been published for a while.
	if kid := kidOf(t, a.login("ada@example.com", "correct horse").AccessToken); kid != oldKid {
		t.Fatalf("a key published just now signs already (%s)", kid)
	}
	clk.Set(clk.Now().Add(lead))
	fresh := a.login("ada@example.com", "correct horse")
	if kid := kidOf(t, fresh.AccessToken); kid != newKid {
		t.Fatalf("after the lead, tokens carry kid %s, want %s", kid, newKid)
	}

	// Old-kid tokens stay valid until they expire; instance b loads the new
	// key from the database when it first meets it.
	a.call("GET", "/api/auth/me", old.AccessToken, nil).want(t, 200)
	b.call("GET", "/api/auth/me", old.AccessToken, nil).want(t, 200)
	b.call("GET", "/api/auth/me", fresh.AccessToken, nil).want(t, 200)

	// Once every token it signed has expired, the old key is withdrawn.
	clk.Set(start.Add(3 * rotation))
	if err := svc.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	for _, kid := range publishedKids(t, a) {
		if kid == oldKid {
			t.Fatalf("key %s still published three periods later", oldKid)
		}
	}
}

func publishedKids(t *testing.T, a *api) []string {
	t.Helper()
	var set struct {
		Keys []struct{ Kid string }
	}
	a.call("GET", "/.well-known/jwks.json", "", nil).want(t, 200).decode(t, &set)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// A service in another process verifies with the published JWKS and picks
// up a key added after its first fetch.
func TestJWKSWithRemoteKeyfunc(t *testing.T) {
	a, svc, clk := newAPI(t)

	res := a.call("GET", "/.well-known/jwks.json", "", nil).want(t, 200)
	if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Fatalf("JWKS Cache-Control %q", cc)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	res.decode(t, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS %s", res.body)
	}
	k := set.Keys[0]
	if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["kid"] == "" || k["x"] == "" || k["d"] != "" {
		t.Fatalf("JWK %v", k)
	}

	keyfunc, err := authn.RemoteKeyfunc(t.Context(), a.url+"/.well-known/jwks.json", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	remote := authn.NewVerifier(keyfunc, authn.DefaultIssuer, authn.DefaultAudience, authn.DefaultAccessTTL, authn.WithClock(clk.Now))

	u := a.register("ada@example.com", "correct horse")
	p, err := remote.Verify(a.login("ada@example.com", "correct horse").AccessToken)
	if err != nil || p.UserID != u.ID {
		t.Fatalf("remote verification: %+v, %v", p, err)
	}

	// A key the remote verifier has not fetched yet.
	clk.Set(clk.Now().Truncate(rotation).Add(rotation + time.Second))
	if err := svc.RotateKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Set(clk.Now().Add(lead))
	fresh := a.login("ada@example.com", "correct horse")
	if kidOf(t, fresh.AccessToken) == k["kid"] {
		t.Fatal("the key did not rotate")
	}
	if p, err := remote.Verify(fresh.AccessToken); err != nil || p.UserID != u.ID {
		t.Fatalf("remote verification after rotation: %+v, %v", p, err)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	a, _, _ := newAPI(t)
	a.call("GET", "/api/auth/login", "", nil).want(t, 405)
	a.call("POST", "/api/auth/login", "", "[]").want(t, 400)
}

// A password an attacker would try early is refused at registration,
// however long it is, with the field at fault.
func TestRegisterRefusesGuessablePasswords(t *testing.T) {
	a, _, _ := newAPI(t)
	for _, tc := range []struct{ email, password, why string }{
		{"ada@example.com", "password1", "common"},
		{"ada@example.com", "qwertyuiop", "common"},
		{"ada@example.com", "Password123!", "common with small changes"},
		{"ada@example.com", "iloveyou2024", "common with a year"},
		{"ada@example.com", "aaaaaaaaaaaa", "repeated"},
		{"ada@example.com", "ada@example.com", "the e-mail address"},
		{"ada@example.com", "ADA@EXAMPLE.COM", "the e-mail address in capitals"},
		{"ada@example.com", "ada12345", "the local part and digits"},
		{"ada@example.com", "example.com!", "the domain"},
		{"ada.lovelace@example.com", "lovelace2024", "part of the local part and a year"},
		{"ada@example.com", "vitrine123", "the site's name"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			var p problem
			a.call("POST", "/api/auth/register", "", map[string]string{"email": tc.email, "password": tc.password}).want(t, 400).decode(t, &p)
			if len(p.Errors) != 1 || p.Errors[0].Field != "password" || p.Errors[0].Detail == "" {
				t.Fatalf("%q: field errors %+v, want one on password", tc.password, p.Errors)
			}
			if strings.Contains(p.Detail+p.Errors[0].Detail, tc.password) {
				t.Fatalf("the problem repeats the password: %+v", p)
			}
		})
	}
	// Passphrases and long random strings go through, with or without
	// the address somewhere inside them.
	a.register("ada@example.com", "ada's staple battery horse")
	a.register("bob@example.com", "Xq7#tV9!mR2z")
}

// throttledAPI is an auth instance whose accounts wait an hour after three
// attempts in a row: long enough that no test sees the wait end.
func throttledAPI(t *testing.T) *api {
	t.Helper()
	clk := newClock()
	svc, err := auth.NewService(openStore(t, sqltest.Config(t, sqldb.SQLite, "auth")), auth.Config{
		Argon2:        auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
		LoginThrottle: ratelimit.NewMemoryThrottle(ratelimit.ThrottlePolicy{After: 3, Wait: time.Hour, MaxWait: 2 * time.Hour, Forget: time.Hour}, 0),
		Now:           clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, svc, clk)
}

func TestLoginThrottledPerAccount(t *testing.T) {
	a := throttledAPI(t)
	a.register("ada@example.com", "correct horse")
	a.register("bob@example.com", "correct horse")
	login := func(email, password string) *response {
		return a.call("POST", "/api/auth/login", "", map[string]string{"email": email, "password": password})
	}
	for range 3 {
		login("ada@example.com", "wrong horse").want(t, 401)
	}
	// Now even the right password is not checked: guessing has stopped.
	res := login("ADA@example.com ", "correct horse").want(t, 429)
	if ra, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || ra < 3500 || ra > 3600 {
		t.Fatalf("Retry-After %q, want about an hour", res.header.Get("Retry-After"))
	}
	if res.header.Get("Content-Type") != "application/problem+json" || strings.Contains(string(res.body), "ada@") {
		t.Fatalf("429 answer %v %s", res.header, res.body)
	}
	// Other accounts are not affected.
	a.login("bob@example.com", "correct horse")

	// An address with no account is throttled the same way, with the same
	// answer, so a 429 does not tell that an account exists.
	for range 3 {
		login("nobody@example.com", "wrong horse").want(t, 401)
	}
	unknown := login("nobody@example.com", "wrong horse").want(t, 429)
	if !bytes.Equal(unknown.body, res.body) {
		t.Fatalf("a throttled unknown address answers\n%s\nbut a throttled account\n%s", unknown.body, res.body)
	}
}

func TestSuccessfulLoginResetsTheThrottle(t *testing.T) {
	a := throttledAPI(t)
	a.register("ada@example.com", "correct horse")
	wrong := func() *response {
		return a.call("POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "wrong horse"})
	}
	wrong().want(t, 401)
	wrong().want(t, 401)
	a.login("ada@example.com", "correct horse") // the owner, just in time
	wrong().want(t, 401)
	wrong().want(t, 401)
	a.login("ada@example.com", "correct horse")
}
