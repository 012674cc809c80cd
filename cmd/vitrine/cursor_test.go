package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

type listing struct {
	Items      []productJSON `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

// TestCursorsAreSignedAndSharedByInstances: two product services on one
// PostgreSQL database honour each other's cursors; a cursor whose body was
// changed and its old, keyless checksum recomputed is refused.
func TestCursorsAreSignedAndSharedByInstances(t *testing.T) {
	pg := sqltest.NewDatabase(t)
	runCommand(t, nil, "user", "create", "--postgres-url", pg, "--email", "admin@vitrine.test", "--password", "admin-password", "--role", "admin")
	args := []string{"--target", "product,auth", "--postgres-url", pg, "--nats-url", bustest.URL(), "--namespace", bustest.Prefix(t)}
	one, two := &catalog{server: startServer(t, nil, args...)}, &catalog{server: startServer(t, nil, args...)}
	one.admin = one.login(t, "admin@vitrine.test", "admin-password")
	for i, name := range []string{"Alpha", "Bravo", "Charlie", "Delta"} {
		one.createProduct(t, productBody(name, "SKU-"+name, int64(100*(i+1)), nil))
	}

	var first, second, again listing
	expect(t, one.get("/api/products?sort=price&limit=2", ""), 200).JSON(t, &first)
	if first.NextCursor == nil {
		t.Fatal("no next cursor after a full page")
	}
	expect(t, two.get("/api/products?sort=price&limit=2&cursor="+url.QueryEscape(*first.NextCursor), ""), 200).JSON(t, &second)
	expect(t, one.get("/api/products?sort=price&limit=2&cursor="+url.QueryEscape(*first.NextCursor), ""), 200).JSON(t, &again)
	if len(second.Items) != 2 || second.Items[0].Name != "Charlie" || second.Items[1].Name != "Delta" || again.Items[0].ID != second.Items[0].ID {
		t.Fatalf("second page from the other instance: %+v", second.Items)
	}

	// Move the cursor to the start of the listing and seal it again with
	// the checksum anyone can compute: refused by both instances.
	body, _, _ := strings.Cut(*first.NextCursor, ".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("cursor body: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("cursor body %q: %v", raw, err)
	}
	fields["k"] = "0"
	raw, _ = json.Marshal(fields)
	sum := sha256.Sum256(raw)
	forged := base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(sum[:9])
	for _, s := range []*catalog{one, two} {
		s.get("/api/products?sort=price&limit=2&cursor="+url.QueryEscape(forged), "").expectField(t, 400, "cursor")
	}
}

// TestCursorSecretFromConfiguration: deployments that keep no shared store
// can share cursors by configuring one secret; without it, a cursor of one
// catalog is refused by another.
func TestCursorSecretFromConfiguration(t *testing.T) {
	cursorOf := func(c *catalog) string {
		c.createProduct(t, productBody("Alpha", "SKU-A", 100, nil))
		c.createProduct(t, productBody("Bravo", "SKU-B", 200, nil))
		var page listing
		expect(t, c.get("/api/products?limit=1", ""), 200).JSON(t, &page)
		if page.NextCursor == nil {
			t.Fatal("no next cursor after a full page")
		}
		return url.QueryEscape(*page.NextCursor)
	}

	a, b := startCatalog(t), startCatalog(t)
	b.get("/api/products?limit=1&cursor="+cursorOf(a), "").expectField(t, 400, "cursor")

	secret := strings.Repeat("s3cret-", 6)
	c := startCatalog(t, "--cursor-secret", secret)
	d := startServer(t, map[string]string{"VITRINE_CURSOR_SECRET": secret}, "--data-dir", t.TempDir())
	expect(t, d.get("/api/products?limit=1&cursor="+cursorOf(c), ""), 200)
	for _, s := range []*server{c.server, d} {
		if strings.Contains(s.stderr.String(), secret) {
			t.Fatal("the cursor secret was logged")
		}
	}

	// A short secret is refused at start, without echoing it.
	err := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--cursor-secret", "tiny-secret"},
		func(string) string { return "" }, &testwait.Buffer{}, &testwait.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "cursor-secret") || strings.Contains(err.Error(), "tiny-secret") {
		t.Fatalf("short secret: %v", err)
	}
}
