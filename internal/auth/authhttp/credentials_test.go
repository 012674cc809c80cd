package authhttp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

type credential struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	RevokedAt *string  `json:"revoked_at"`
	Token     string   `json:"token"`
}

// adminToken makes an admin through the service, as the CLI does, and logs in.
func adminToken(t *testing.T, a *api, svc *auth.Service) string {
	t.Helper()
	if _, err := svc.CreateUser(context.Background(), "root@example.com", "admin password", authn.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	return a.login("root@example.com", "admin password").AccessToken
}

func TestCredentialLifecycle(t *testing.T) {
	a, svc, _ := newAPI(t)
	admin := adminToken(t, a, svc)

	var c credential
	res := a.call("POST", "/api/auth/credentials", admin, map[string]any{"name": "checkout", "scopes": []string{"analytics:purchases"}}).want(t, 201)
	res.decode(t, &c)
	if !strings.HasPrefix(c.Token, "vtc_"+c.ID+"_") || len(c.Token) < 80 || c.Name != "checkout" || len(c.Scopes) != 1 {
		t.Fatalf("created %+v", c)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on a response holding a secret", cc)
	}
	secret := c.Token[len("vtc_"+c.ID+"_"):]

	// The credential says who it is; nobody else is answered.
	var self credential
	a.call("GET", "/api/auth/credentials/self", c.Token, nil).want(t, 200).decode(t, &self)
	if self.ID != c.ID || self.Name != "checkout" || strings.Join(self.Scopes, " ") != "analytics:purchases" || self.Token != "" {
		t.Fatalf("self %+v", self)
	}
	a.call("GET", "/api/auth/credentials/self", "", nil).want(t, 401)
	a.call("GET", "/api/auth/credentials/self", admin, nil).want(t, 403)
	// Another secret of the same shape: the last character changed to another
	// one a strict encoding allows ('A' and 'Q' both end in zero bits).
	other := "A"
	if strings.HasSuffix(c.Token, "A") {
		other = "Q"
	}
	a.call("GET", "/api/auth/credentials/self", c.Token[:len(c.Token)-1]+other, nil).want(t, 401)
	a.call("GET", "/api/auth/credentials/self", "vtc_"+c.ID+"_", nil).want(t, 401)

	// The list shows what exists, never a secret.
	res = a.call("GET", "/api/auth/credentials", admin, nil).want(t, 200)
	if strings.Contains(string(res.body), secret) || strings.Contains(string(res.body), "token") || strings.Contains(string(res.body), "hash") {
		t.Fatalf("list leaks a secret: %s", res.body)
	}
	var list struct{ Items []credential }
	res.decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != c.ID || list.Items[0].RevokedAt != nil {
		t.Fatalf("list %+v", list)
	}

	// A credential is no user: user and admin routes refuse it.
	a.call("GET", "/api/auth/me", c.Token, nil).want(t, 403)
	a.call("GET", "/api/auth/credentials", c.Token, nil).want(t, 403)
	a.call("POST", "/api/auth/credentials", c.Token, map[string]any{"name": "more", "scopes": []string{"analytics:purchases"}}).want(t, 403)

	// Revoked, it is refused at once in this process.
	a.call("DELETE", "/api/auth/credentials/"+c.ID, admin, nil).want(t, 204)
	a.call("DELETE", "/api/auth/credentials/"+c.ID, admin, nil).want(t, 204)
	a.call("GET", "/api/auth/credentials/self", c.Token, nil).want(t, 401)
	a.call("GET", "/api/auth/credentials", admin, nil).want(t, 200).decode(t, &list)
	if list.Items[0].RevokedAt == nil {
		t.Fatalf("revoked credential listed as %+v", list.Items[0])
	}
	a.call("DELETE", "/api/auth/credentials/0198c3a2-7b1e-7000-8000-0000000000ff", admin, nil).want(t, 404)
	if p := problemOf(t, a.call("DELETE", "/api/auth/credentials/nope", admin, nil).want(t, 400)); p.Errors[0].Field != "id" {
		t.Fatalf("bad id: %+v", p)
	}
}

func TestCredentialsAreForAdmins(t *testing.T) {
	a, _, _ := newAPI(t)
	a.register("ada@example.com", "correct horse")
	customer := a.login("ada@example.com", "correct horse").AccessToken
	body := map[string]any{"name": "checkout", "scopes": []string{"analytics:purchases"}}
	a.call("POST", "/api/auth/credentials", "", body).want(t, 401)
	a.call("POST", "/api/auth/credentials", customer, body).want(t, 403)
	a.call("GET", "/api/auth/credentials", customer, nil).want(t, 403)
	a.call("DELETE", "/api/auth/credentials/0198c3a2-7b1e-7000-8000-0000000000ff", customer, nil).want(t, 403)
}

func TestCredentialValidation(t *testing.T) {
	a, svc, _ := newAPI(t)
	admin := adminToken(t, a, svc)
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"no name", map[string]any{"scopes": []string{"analytics:purchases"}}, "name"},
		{"upper case", map[string]any{"name": "Checkout", "scopes": []string{"analytics:purchases"}}, "name"},
		{"spaces", map[string]any{"name": "check out", "scopes": []string{"analytics:purchases"}}, "name"},
		{"leading dash", map[string]any{"name": "-checkout", "scopes": []string{"analytics:purchases"}}, "name"},
		{"too long", map[string]any{"name": strings.Repeat("a", 65), "scopes": []string{"analytics:purchases"}}, "name"},
		{"no scopes", map[string]any{"name": "checkout"}, "scopes"},
		{"empty scopes", map[string]any{"name": "checkout", "scopes": []string{}}, "scopes"},
		{"unknown scope", map[string]any{"name": "checkout", "scopes": []string{"analytics:purchases", "admin"}}, "scopes[1]"},
		{"twice", map[string]any{"name": "checkout", "scopes": []string{"analytics:purchases", "analytics:purchases"}}, "scopes[1]"},
		{"a role", map[string]any{"name": "checkout", "scopes": []string{"analytics:purchases"}, "role": "admin"}, "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problemOf(t, a.call("POST", "/api/auth/credentials", admin, tc.body).want(t, 400))
			found := false
			for _, e := range p.Errors {
				found = found || e.Field == tc.field
			}
			if !found {
				t.Fatalf("problem %+v does not name %s", p, tc.field)
			}
		})
	}
	var list struct{ Items []credential }
	a.call("GET", "/api/auth/credentials", admin, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("refused credentials were created: %+v", list.Items)
	}
}

func problemOf(t *testing.T, r *response) problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q", ct)
	}
	var p problem
	r.decode(t, &p)
	return p
}

// FuzzVerifyCredential feeds arbitrary tokens to the verifier: nothing
// panics, and only the one genuine token is accepted.
func FuzzVerifyCredential(f *testing.F) {
	store, err := authdb.Open(context.Background(), sqltest.Config(f, sqldb.SQLite, "auth"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	svc, err := auth.NewService(store, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}})
	if err != nil {
		f.Fatal(err)
	}
	c, err := svc.CreateCredential(context.Background(), "checkout", []string{authn.ScopeAnalyticsPurchases})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{c.Token, c.Token + "=", "vtc_" + c.ID + "_", "vtc_" + c.ID, "vtc_", "vtc__",
		"vtc_" + strings.ToUpper(c.ID) + c.Token[len("vtc_")+36:], strings.Replace(c.Token, "-", "", 1), ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := svc.VerifyCredential(context.Background(), token)
		if err == nil && (token != c.Token || p.CredentialID != c.ID) {
			t.Fatalf("accepted %q as %+v", token, p)
		}
	})
}
