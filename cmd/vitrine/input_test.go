package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// startCatalogOn starts an all-in-one Vitrine keeping its data in d: SQLite
// files under the data directory, or a fresh PostgreSQL database (with the
// local NATS server, as a split deployment has).
func startCatalogOn(t testing.TB, d sqldb.Dialect, extra ...string) *catalog {
	t.Helper()
	if d == sqldb.SQLite {
		return startCatalog(t, extra...)
	}
	pg := sqltest.NewDatabase(t)
	runCommand(t, nil, "user", "create", "--postgres-url", pg, "--email", "admin@vitrine.test", "--password", "admin-password", "--role", "admin")
	s := startServer(t, nil, append([]string{"--postgres-url", pg, "--nats-url", bustest.URL(), "--namespace", bustest.Prefix(t),
		"--data-dir", t.TempDir(), "--rate-limit-login", "1000/m"}, extra...)...)
	c := &catalog{server: s}
	c.admin = c.login(t, "admin@vitrine.test", "admin-password")
	return c
}

// TestTextTheDatabaseCannotTakeIsA400: NUL bytes and bytes that are not
// UTF-8, in a query parameter, a path segment, a JSON string or key or a
// header that is stored, are refused with a problem naming where they were,
// on both stores, before any of it reaches the database.
func TestTextTheDatabaseCannotTakeIsA400(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := startCatalogOn(t, d)
			post := func(body string) *response {
				return c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: body})
			}
			variants := `"variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}}]`

			c.get("/api/products?brand=%00", "").expectField(t, 400, "brand")
			c.get("/api/products?brand=%FF%FE", "").expectField(t, 400, "brand")
			c.get("/api/products?brand=Acme%01", "").expectField(t, 400, "brand")
			c.get("/api/products?brand=Acme&category=%C0%AF", c.admin).expectField(t, 400, "category")
			c.get("/api/products/bestsellers?limit=%00", "").expectField(t, 400, "limit")
			c.get("/api/products/%00", "").expectField(t, 400, "id")
			c.get("/api/products/lamp%FF", "").expectField(t, 400, "id")
			c.get("/api/categories/%00", "").expectField(t, 400, "slug")
			c.do(call{Method: "PUT", Path: "/api/products/%FE", Token: c.admin, Body: `{"name": "X", ` + variants + `}`}).expectField(t, 400, "id")
			c.do(call{Method: "DELETE", Path: "/api/categories/%00", Token: c.admin}).expectField(t, 400, "slug")
			c.get("/api/search?q=lamp%00", "").expectField(t, 400, "q")
			c.get("/api/search?brand=%FF", "").expectField(t, 400, "brand")
			c.get("/api/search/suggest?q=%E2%82", "").expectField(t, 400, "q")

			post(`{"name": "Lamp\u0000", `+variants+`}`).expectField(t, 400, "name")
			post("{\"name\": \"Lamp\xff\", "+variants+"}").expectField(t, 400, "name")
			post(`{"name": "Lamp", "variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}}, {"sku": "A-`+"\xed\xa0\x80"+`", "price": {"amount": 100, "currency": "EUR"}}]}`).expectField(t, 400, "variants[1].sku")
			post(`{"name": "Lamp", "attributes": {"col\u0000our": "red"}, `+variants+`}`).expectField(t, 400, "attributes")
			post(`{"name": "Lamp", "tags": ["a", "\ud83d"], `+variants+`}`).expectField(t, 400, "tags[1]")
			c.do(call{Method: "POST", Path: "/api/categories", Token: c.admin, Body: `{"slug": "home", "name": "Home\u0000"}`}).expectField(t, 400, "name")
			r := c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: `{"name": "Lamp", ` + variants + `}`,
				Header: map[string]string{"Idempotency-Key": "key-\xff\xfe"}})
			r.expectField(t, 400, "Idempotency-Key")
			c.do(call{Method: "POST", Path: "/api/auth/register", Body: "{\"email\": \"a\xff@vitrine.test\", \"password\": \"long-enough-password\"}"}).expectField(t, 400, "email")
			c.do(call{Method: "POST", Path: "/api/analytics/events",
				Body: `{"events": [{"id": "e1", "type": "view", "product_id": "p\u0000"}]}`}).expectField(t, 400, "events[0].product_id")

			// Text that is well formed passes, however it is spelled: raw
			// UTF-8, or escapes with a surrogate pair for the emoji.
			p := c.createProduct(t, productBody("Lampe à poser 💡", "LAMP-1", 100, map[string]any{"brand": "Büro"}))
			if p.Name != "Lampe à poser 💡" {
				t.Fatalf("name came back as %q", p.Name)
			}
			c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json",
				Body: "{\"description\": \"bad \xff\"}"}).expectField(t, 400, "description")
			r = expect(t, c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json",
				Body: `{"name": "Lampe \u00e0 poser \ud83d\udca1 II"}`}), 200)
			var patched productJSON
			r.JSON(t, &patched)
			if patched.Name != "Lampe à poser 💡 II" {
				t.Fatalf("patched name came back as %q", patched.Name)
			}
			var page struct{ Items []productJSON }
			expect(t, c.get("/api/products?brand="+url.QueryEscape("Büro"), ""), 200).JSON(t, &page)
			if len(page.Items) != 1 || page.Items[0].ID != p.ID {
				t.Fatalf("listing by a non-ASCII brand: %+v", page.Items)
			}
		})
	}
}

// as returns s reporting to t: a fuzz target's body must not use the F
// that started the server.
func (s *server) as(t testing.TB) *server {
	c := *s
	c.t = t
	return &c
}

// rawJSONString quotes s as JSON does, except that bytes that are not UTF-8
// are left as they are, as a careless client sends them.
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FuzzTextInput: whatever bytes a client puts in a query parameter, a path
// segment, a header kept in a store or a JSON string (raw, or as JSON
// escapes it wrote itself), a catalog on PostgreSQL answers without a
// server error. With its seeds it runs in every "go test"; "make fuzz"
// explores further.
func FuzzTextInput(f *testing.F) {
	for _, seed := range []string{
		"", "Acme", "\x00", "a\x00b", "\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "Lampe à poser 💡", "\u202etxt",
		`\u0000`, `\ud800`, `\ud83d\udca1`, `\uFFFD`, `a"b`, `\`, "..", "../admin", "%00", "%FF", "\x7f", "tab\there",
		strings.Repeat("x", 300), "'; DROP TABLE products; --",
	} {
		f.Add(seed)
	}
	c := startCatalogOn(f, sqldb.Postgres, "--rate-limit-ip", "off", "--rate-limit-user", "off", "--rate-limit-login", "off")
	admin := c.admin
	var serial atomic.Uint64
	f.Fuzz(func(t *testing.T, text string) {
		s := c.server.as(t)
		q, p, j := url.QueryEscape(text), url.PathEscape(text), rawJSONString(text)
		// Backslashes left alone: escapes the client wrote, such as \u0000.
		escapes := `"` + strings.NewReplacer(`"`, `\"`, "\n", `\n`).Replace(text) + `"`
		// A product with one fuzzed field, so that no fault elsewhere stops
		// it before the store.
		product := func(field string) string {
			n := strconv.FormatUint(serial.Add(1), 10)
			v := map[string]string{"name": `"Fuzzed ` + n + `"`, "description": `""`, "brand": `""`, "tag": `"t"`,
				"key": `"k"`, "value": `"v"`, "alt": `""`, "option": `"M"`}
			switch field {
			case "":
			case "escapes":
				v["description"] = escapes
			default:
				v[field] = j
			}
			return `{"name": ` + v["name"] + `, "slug": "fuzzed-` + n + `", "description": ` + v["description"] +
				`, "brand": ` + v["brand"] + `, "tags": [` + v["tag"] + `], "attributes": {` + v["key"] + `: ` + v["value"] +
				`}, "images": [{"url": "https://img.test/1.jpg", "alt": ` + v["alt"] + `}], "variants": [{"sku": "FZ-` + n +
				`", "options": {"size": ` + v["option"] + `}, "price": {"amount": 100, "currency": "EUR"}}]}`
		}
		// net/http will not send control characters in a header; other
		// bytes, UTF-8 or not, go as they are.
		header := []byte(text)
		header = slices.DeleteFunc(header, func(b byte) bool { return b < 0x20 || b == 0x7f })
		headerText := string(header)
		// One field at a time: a fault in one must not hide another.
		calls := []call{
			{Method: "GET", Path: "/api/products?brand=" + q},
			{Method: "GET", Path: "/api/products?category=" + q},
			{Method: "GET", Path: "/api/products?sort=name&cursor=" + q},
			{Method: "GET", Path: "/api/products?" + q + "=1"},
			{Method: "GET", Path: "/api/products?status=" + q, Token: admin},
			{Method: "GET", Path: "/api/products?brand=Acme&min_price=" + q, Token: admin},
			{Method: "GET", Path: "/api/products/" + p},
			{Method: "GET", Path: "/api/products/" + p, Token: admin},
			{Method: "GET", Path: "/api/categories/" + p},
			{Method: "GET", Path: "/api/search?q=" + q},
			{Method: "GET", Path: "/api/search?brand=" + q},
			{Method: "GET", Path: "/api/search/suggest?q=" + q},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("name")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("description")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("brand")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("tag")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("key")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("value")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("alt")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("option")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product("escapes")},
			{Method: "POST", Path: "/api/products", Token: admin, Body: product(""), Header: map[string]string{"Idempotency-Key": headerText}},
			{Method: "PUT", Path: "/api/products/" + p, Token: admin, Body: product("")},
			{Method: "POST", Path: "/api/categories", Token: admin, Body: `{"slug": "c` + strconv.FormatUint(serial.Add(1), 10) + `", "name": ` + j + `}`},
			{Method: "POST", Path: "/api/auth/login", Body: `{"email": ` + j + `, "password": "some-password"}`},
			{Method: "POST", Path: "/api/auth/register", Body: `{"email": ` + escapes + `, "password": "some-long-password"}`},
			{Method: "POST", Path: "/api/analytics/events", Body: `{"events": [{"id": ` + j + `, "type": "view", "product_id": "p1"}]}`},
		}
		for _, cl := range calls {
			r, err := s.tryDo(cl)
			if err != nil {
				t.Fatalf("%s %s: %v", cl.Method, cl.Path, err)
			}
			if r.Status >= 500 {
				t.Fatalf("%s %s %q: %d %s", cl.Method, cl.Path, cl.Body, r.Status, r.Body)
			}
		}
	})
}
