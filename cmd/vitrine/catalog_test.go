package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// catalog is a running all-in-one Vitrine with an admin and a customer.
type catalog struct {
	*server
	admin, customer string // access tokens
	dataDir         string
}

func startCatalog(t testing.TB, extra ...string) *catalog {
	t.Helper()
	dir := t.TempDir()
	runCommand(t, nil, "user", "create", "--data-dir", dir, "--email", "admin@vitrine.test", "--password", "admin-password", "--role", "admin")
	// Tests log in more often than the default login limit allows.
	s := startServer(t, nil, append([]string{"--data-dir", dir, "--rate-limit-login", "1000/m"}, extra...)...)
	c := &catalog{server: s, dataDir: dir}
	c.admin = c.login(t, "admin@vitrine.test", "admin-password")
	expect(t, s.do(call{Method: "POST", Path: "/api/auth/register", Body: map[string]string{"email": "shopper@vitrine.test", "password": "shopper-password"}}), 201)
	c.customer = c.login(t, "shopper@vitrine.test", "shopper-password")
	return c
}

func (c *catalog) login(t testing.TB, email, password string) string {
	t.Helper()
	r := expect(t, c.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": email, "password": password}}), 200)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &tok)
	return tok.AccessToken
}

type productJSON struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Brand    string `json:"brand"`
	Category string `json:"category"`
	Status   string `json:"status"`
	Version  int64  `json:"version"`
	InStock  bool   `json:"in_stock"`
	Price    struct {
		Min, Max int64
		Currency string
	} `json:"price"`
	Variants []struct {
		SKU   string `json:"sku"`
		Stock int64  `json:"stock"`
	} `json:"variants"`
	Description string `json:"description"`
	SalesCount  int64  `json:"sales_count"`
}

func productBody(name, sku string, price int64, extra map[string]any) map[string]any {
	b := map[string]any{
		"name": name, "brand": "Acme", "status": "active",
		"variants": []any{map[string]any{"sku": sku, "price": map[string]any{"amount": price, "currency": "EUR"}, "stock": 5}},
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func (c *catalog) createProduct(t testing.TB, body map[string]any) productJSON {
	t.Helper()
	r := expect(t, c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: body}), 201)
	var p productJSON
	r.JSON(t, &p)
	return p
}

func (c *catalog) createCategory(t testing.TB, slug, parent string) {
	t.Helper()
	expect(t, c.do(call{Method: "POST", Path: "/api/categories", Token: c.admin,
		Body: map[string]string{"slug": slug, "name": strings.ToUpper(slug[:1]) + slug[1:], "parent": parent}}), 201)
}

func TestProductLifecycle(t *testing.T) {
	c := startCatalog(t)
	c.createCategory(t, "audio", "")

	// Create: 201 with Location and ETag; derived fields computed.
	r := expect(t, c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: productBody("Studio Headphones", "HP-1", 12999,
		map[string]any{"category": "audio", "description": "Closed-back headphones"})}), 201)
	var p productJSON
	r.JSON(t, &p)
	if r.Header.Get("Location") != "/api/products/"+p.ID || r.Header.Get("ETag") == "" {
		t.Fatalf("Location %q ETag %q", r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	if p.Slug != "studio-headphones" || p.Version != 1 || p.Price.Min != 12999 || p.Price.Currency != "EUR" || !p.InStock {
		t.Fatalf("created %+v", p)
	}

	// Read by id and by slug; If-None-Match gives 304.
	byID := expect(t, c.get("/api/products/"+p.ID, ""), 200)
	expect(t, c.get("/api/products/studio-headphones", ""), 200)
	etag := byID.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"1.`) || !strings.Contains(byID.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("ETag %q Cache-Control %q", etag, byID.Header.Get("Cache-Control"))
	}
	expect(t, c.do(call{Method: "GET", Path: "/api/products/" + p.ID, Header: map[string]string{"If-None-Match": etag}}), 304)

	// PUT with the current ETag bumps the version; the old ETag is then stale.
	put := productBody("Studio Headphones", "HP-1", 11999, map[string]any{"category": "audio"})
	r = expect(t, c.do(call{Method: "PUT", Path: "/api/products/" + p.ID, Token: c.admin, Body: put, Header: map[string]string{"If-Match": etag}}), 200)
	r.JSON(t, &p)
	if p.Version != 2 || p.Price.Min != 11999 || p.Description != "" {
		t.Fatalf("after PUT: %+v", p)
	}
	c.do(call{Method: "PUT", Path: "/api/products/" + p.ID, Token: c.admin, Body: put, Header: map[string]string{"If-Match": etag}}).
		expectProblem(t, 412)
	c.do(call{Method: "GET", Path: "/api/products/" + p.ID, Header: map[string]string{"If-None-Match": etag}}).expectStatus(t, 200)

	// PATCH is a JSON merge patch: only the named fields change.
	r = expect(t, c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json",
		Body: `{"description": "Now with a case", "brand": null}`}), 200)
	r.JSON(t, &p)
	if p.Version != 3 || p.Description != "Now with a case" || p.Brand != "" || p.Name != "Studio Headphones" || p.Price.Min != 11999 {
		t.Fatalf("after PATCH: %+v", p)
	}
	c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json",
		Body: `{"name": "Stale"}`, Header: map[string]string{"If-Match": `"2.x"`}}).expectProblem(t, 412)
	c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json",
		Body: `{"variants": [{"sku": "HP-1", "price": {"amount": -1, "currency": "EUR"}}]}`}).expectField(t, 400, "variants[0].price.amount")
	c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json",
		Body: `{"version": 99}`}).expectField(t, 400, "version")

	// Drafts are hidden from the public but visible to admins.
	expect(t, c.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: c.admin, ContentType: "application/merge-patch+json", Body: `{"status": "draft"}`}), 200)
	c.get("/api/products/"+p.ID, "").expectProblem(t, 404)
	expect(t, c.get("/api/products/"+p.ID, c.admin), 200)

	// DELETE, then it is gone.
	expect(t, c.do(call{Method: "DELETE", Path: "/api/products/" + p.ID, Token: c.admin}), 204)
	c.get("/api/products/"+p.ID, c.admin).expectProblem(t, 404)
	c.do(call{Method: "DELETE", Path: "/api/products/" + p.ID, Token: c.admin}).expectProblem(t, 404)
}

func TestWritesNeedAnAdmin(t *testing.T) {
	c := startCatalog(t)
	body := productBody("Lamp", "LAMP-1", 1000, nil)
	c.do(call{Method: "POST", Path: "/api/products", Body: body}).expectProblem(t, 401)
	c.do(call{Method: "POST", Path: "/api/products", Body: body, Token: "not-a-token"}).expectProblem(t, 401)
	c.do(call{Method: "POST", Path: "/api/products", Body: body, Token: c.customer}).expectProblem(t, 403)
	c.do(call{Method: "POST", Path: "/api/categories", Body: map[string]string{"name": "X"}, Token: c.customer}).expectProblem(t, 403)
	p := c.createProduct(t, body)
	c.do(call{Method: "DELETE", Path: "/api/products/" + p.ID, Token: c.customer}).expectProblem(t, 403)
	c.do(call{Method: "PUT", Path: "/api/products/" + p.ID, Body: body}).expectProblem(t, 401)
	// A customer cannot see drafts by asking for a status either.
	c.get("/api/products?status=draft", c.customer).expectField(t, 400, "status")
}

func TestConflictsAndIdempotency(t *testing.T) {
	c := startCatalog(t)
	first := c.createProduct(t, productBody("Desk", "DESK-1", 20000, nil))
	c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: productBody("Desk", "DESK-2", 1, nil)}).expectField(t, 409, "slug")
	c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: productBody("Other Desk", "DESK-1", 1, nil)}).expectProblem(t, 409)

	// A replay with the same key and body returns the first response and creates nothing.
	body := `{"name": "Chair", "status": "active", "variants": [{"sku": "CHAIR-1", "price": {"amount": 4999, "currency": "EUR"}, "stock": 1}]}`
	key := map[string]string{"Idempotency-Key": "order-123"}
	r1 := expect(t, c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: body, Header: key}), 201)
	r2 := expect(t, c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: body, Header: key}), 201)
	if string(r1.Body) != string(r2.Body) || r1.Header.Get("Location") != r2.Header.Get("Location") || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs:\n%s\n%s", r1.Body, r2.Body)
	}
	var page struct{ Items []productJSON }
	expect(t, c.get("/api/products?limit=100", ""), 200).JSON(t, &page)
	if len(page.Items) != 2 {
		t.Fatalf("%d products after replay, want 2 (%s and the chair)", len(page.Items), first.Name)
	}
	// The same key with another body is refused.
	c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: strings.Replace(body, "Chair", "Stool", 1), Header: key}).expectProblem(t, 422)
}

func TestBadInputIsAProblemWithTheField(t *testing.T) {
	c := startCatalog(t)
	post := func(body string) *response {
		return c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: body})
	}
	valid := `"variants": [{"sku": "A-1", "price": {"amount": 100, "currency": "EUR"}}]`
	post(`{`+valid+`}`).expectField(t, 400, "name")
	post(`{"name": "X", "variants": [{"sku": "A-1", "price": {"amount": -5, "currency": "EUR"}}]}`).expectField(t, 400, "variants[0].price.amount")
	post(`{"name": "X", "variants": [{"sku": "A-1", "price": {"amount": 5, "currency": "XXQ"}}]}`).expectField(t, 400, "variants[0].price.currency")
	post(`{"name": "X", "colour": "red", `+valid+`}`).expectField(t, 400, "colour")
	post(`{"name": "X", "id": "0190", `+valid+`}`).expectField(t, 400, "id")
	post(`{"name": "X", "sales_count": 1000, `+valid+`}`).expectField(t, 400, "sales_count")
	post(`{"name": "X", `).expectProblem(t, 400)
	post(`{"name": 5, `+valid+`}`).expectField(t, 400, "name")
	post(`{"name": "X", "category": "nowhere", `+valid+`}`).expectField(t, 400, "category")
	post(`{"name": "X", `+valid+`} {"again": true}`).expectProblem(t, 400)
	post(``).expectProblem(t, 400)
	c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: `name=X`, ContentType: "application/x-www-form-urlencoded"}).expectProblem(t, 415)
	huge := `{"name": "X", "description": "` + strings.Repeat("a", 2<<20) + `", ` + valid + `}`
	post(huge).expectProblem(t, 413)
	c.get("/api/nothing-here", "").expectProblem(t, 404)
	r := c.do(call{Method: "DELETE", Path: "/api/categories"})
	r.expectProblem(t, 405)
	if !strings.Contains(r.Header.Get("Allow"), "GET") {
		t.Fatalf("405 without Allow: %v", r.Header)
	}
	// None of that left a record behind.
	var page struct{ Items []productJSON }
	expect(t, c.get("/api/products?status=draft&status=active&status=archived", c.admin), 200).JSON(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("bad input left %d products", len(page.Items))
	}
}

func TestListingFiltersSortsAndPages(t *testing.T) {
	c := startCatalog(t)
	c.createCategory(t, "home", "")
	c.createCategory(t, "lamps", "home")
	c.createCategory(t, "garden", "")
	brands := []string{"Acme", "Lumen", "Orbis"}
	for i := 0; i < 45; i++ {
		cat := []string{"home", "lamps", "garden"}[i%3]
		stock := i % 4
		c.createProduct(t, map[string]any{
			"name": fmt.Sprintf("Item %02d", i), "brand": brands[(i/3)%3], "category": cat, "status": "active",
			"variants": []any{map[string]any{"sku": fmt.Sprintf("ITEM-%d", i), "price": map[string]any{"amount": 1000 + 100*(i%5), "currency": "EUR"}, "stock": stock}},
		})
	}
	type page struct {
		Items      []productJSON `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}
	// Walk every page; each matching product appears exactly once.
	walk := func(query string) []productJSON {
		var all []productJSON
		cursor := ""
		for i := 0; i < 50; i++ {
			q := query + "&limit=7"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			var p page
			expect(t, c.get("/api/products?"+q, ""), 200).JSON(t, &p)
			all = append(all, p.Items...)
			if p.NextCursor == nil {
				return all
			}
			cursor = *p.NextCursor
		}
		t.Fatal("pagination did not end")
		return nil
	}
	for _, sort := range []string{"newest", "price", "-price", "name", "-sales"} {
		items := walk("category=home&brand=Acme&brand=Lumen&sort=" + sort)
		seen := map[string]bool{}
		for _, p := range items {
			if seen[p.ID] {
				t.Fatalf("sort %s: %s twice", sort, p.Name)
			}
			seen[p.ID] = true
			if p.Category != "home" && p.Category != "lamps" || p.Brand == "Orbis" {
				t.Fatalf("sort %s: filter let %+v through", sort, p)
			}
		}
		// home and lamps are 30 of the 45, two brands out of three: 20.
		if len(items) != 20 {
			t.Fatalf("sort %s: %d products, want 20", sort, len(items))
		}
	}
	prices := walk("sort=price&min_price=1200&max_price=1300&in_stock=true")
	for i, p := range prices {
		if p.Price.Min < 1200 || p.Price.Min > 1300 || !p.InStock || (i > 0 && prices[i-1].Price.Min > p.Price.Min) {
			t.Fatalf("price filter/sort: %+v", p)
		}
	}
	if len(prices) == 0 {
		t.Fatal("price filter found nothing")
	}

	// Cursors: tampered or from another listing is a 400, never a 500.
	var first page
	expect(t, c.get("/api/products?sort=price&limit=5", ""), 200).JSON(t, &first)
	cur := *first.NextCursor
	// Change the first character: it carries six bits of data, where the
	// last may carry padding bits a decoder ignores.
	tampered := "A" + cur[1:]
	if cur[0] == 'A' {
		tampered = "B" + cur[1:]
	}
	c.get("/api/products?sort=price&limit=5&cursor="+url.QueryEscape(tampered), "").expectField(t, 400, "cursor")
	c.get("/api/products?sort=name&limit=5&cursor="+url.QueryEscape(cur), "").expectField(t, 400, "cursor")
	c.get("/api/products?sort=price&brand=Acme&cursor="+url.QueryEscape(cur), "").expectField(t, 400, "cursor")
	c.get("/api/products?cursor=%00%01garbage", "").expectField(t, 400, "cursor")
	c.get("/api/products?limit=0", "").expectField(t, 400, "limit")
	c.get("/api/products?limit=101", "").expectField(t, 400, "limit")
	c.get("/api/products?sort=cheapest", "").expectField(t, 400, "sort")
	c.get("/api/products?min_price=-1", "").expectField(t, 400, "min_price")
	c.get("/api/products?in_stock=maybe", "").expectField(t, 400, "in_stock")
	c.get("/api/products?colour=red", "").expectField(t, 400, "colour")
	c.get("/api/products?category=nowhere", "").expectField(t, 400, "category")

	// A listing has an ETag too.
	r := expect(t, c.get("/api/products?sort=price", ""), 200)
	expect(t, c.do(call{Method: "GET", Path: "/api/products?sort=price", Header: map[string]string{"If-None-Match": r.Header.Get("ETag")}}), 304)

	var best struct{ Items []productJSON }
	expect(t, c.get("/api/products/bestsellers?limit=3", ""), 200).JSON(t, &best)
	if len(best.Items) != 3 {
		t.Fatalf("bestsellers: %d items", len(best.Items))
	}
}

func TestCategories(t *testing.T) {
	c := startCatalog(t)
	c.createCategory(t, "men", "")
	c.createCategory(t, "shoes", "men")
	c.createCategory(t, "boots", "shoes")
	var tree []struct {
		Slug     string `json:"slug"`
		Children []struct {
			Slug     string                  `json:"slug"`
			Children []struct{ Slug string } `json:"children"`
		} `json:"children"`
	}
	expect(t, c.get("/api/categories", ""), 200).JSON(t, &tree)
	if len(tree) != 1 || tree[0].Children[0].Slug != "shoes" || tree[0].Children[0].Children[0].Slug != "boots" {
		t.Fatalf("tree: %+v", tree)
	}
	expect(t, c.get("/api/categories/shoes", ""), 200)
	c.get("/api/categories/nowhere", "").expectProblem(t, 404)
	c.do(call{Method: "POST", Path: "/api/categories", Token: c.admin, Body: map[string]string{"slug": "men", "name": "Men"}}).expectProblem(t, 409)
	c.do(call{Method: "PUT", Path: "/api/categories/men", Token: c.admin, Body: map[string]string{"slug": "men", "name": "Men", "parent": "boots"}}).expectField(t, 400, "parent")
	expect(t, c.do(call{Method: "PUT", Path: "/api/categories/boots", Token: c.admin, Body: map[string]string{"slug": "boots", "name": "Boots & Booties", "parent": "men"}}), 200)

	// Listing a category includes its descendants.
	c.createProduct(t, productBody("Chelsea Boot", "BOOT-1", 9900, map[string]any{"category": "boots"}))
	var page struct{ Items []productJSON }
	expect(t, c.get("/api/products?category=men", ""), 200).JSON(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("category men lists %d products, want the boot", len(page.Items))
	}
	// A category with products or children cannot go.
	c.do(call{Method: "DELETE", Path: "/api/categories/boots", Token: c.admin}).expectProblem(t, 409)
	c.do(call{Method: "DELETE", Path: "/api/categories/men", Token: c.admin}).expectProblem(t, 409)
	expect(t, c.do(call{Method: "DELETE", Path: "/api/categories/shoes", Token: c.admin}), 204)
	c.do(call{Method: "DELETE", Path: "/api/categories/shoes", Token: c.admin}).expectProblem(t, 404)
}

func TestOperationsEndpoints(t *testing.T) {
	c := startCatalog(t, "--admin-addr", "127.0.0.1:0")
	expect(t, c.get("/healthz", ""), 200)
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	expect(t, c.get("/readyz", ""), 200).JSON(t, &ready)
	if !ready.Ready || ready.Checks["product_db"] != "ok" || ready.Checks["auth_db"] != "ok" {
		t.Fatalf("readyz: %+v", ready)
	}
	// Metrics are for operators: on the admin address only.
	metrics := c.metrics()
	if !strings.Contains(metrics, `vitrine_http_requests_total{method="GET",route="GET /readyz",status="200"}`) || !strings.Contains(metrics, "vitrine_outbox_backlog 0") {
		t.Fatalf("metrics lack the readyz request:\n%.2000s", metrics)
	}
	c.get("/metrics", "").expectProblem(t, 404)
	c.get("/debug/pprof/", "").expectProblem(t, 404)
	r := expect(t, c.get("/openapi.json", ""), 200)
	if !strings.Contains(string(r.Body), `"openapi": "3.1.0"`) {
		t.Fatal("openapi.json is not an OpenAPI 3.1 document")
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("security headers missing")
	}
}

func (r *response) expectStatus(t *testing.T, status int) *response {
	t.Helper()
	return expect(t, r, status)
}

func (r *response) expectProblem(t *testing.T, status int) problemBody {
	t.Helper()
	expect(t, r, status)
	return r.Problem(t)
}

func (r *response) expectField(t *testing.T, status int, field string) {
	t.Helper()
	p := r.expectProblem(t, status)
	if !p.HasField(field) {
		t.Fatalf("problem does not name field %q: %s", field, r.Body)
	}
}
