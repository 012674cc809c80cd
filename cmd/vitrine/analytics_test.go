package main

import (
	"fmt"
	"testing"
	"time"
)

// TestAnalyticsFeedsBestsellers: shopper events go in, reports come out,
// and purchases flow back through the event stream into bestsellers.
func TestAnalyticsFeedsBestsellers(t *testing.T) {
	c := startCatalog(t)
	// The lamp is older: where popularity ties, newer products come first,
	// so only its purchases can put it ahead.
	lamp := c.createProduct(t, productBody("Lamp", "LAMP-1", 1999, nil))
	kettle := c.createProduct(t, productBody("Kettle", "KET-1", 2999, nil))

	type result struct {
		Accepted   int `json:"accepted"`
		Duplicates int `json:"duplicates"`
		Rejected   int `json:"rejected"`
		Errors     []struct {
			Index int    `json:"index"`
			Field string `json:"field"`
		} `json:"errors"`
	}
	batch := func(suffix string) map[string]any {
		now := time.Now().UTC().Format(time.RFC3339)
		return map[string]any{"events": []any{
			map[string]any{"id": "e1" + suffix, "type": "purchase", "product_id": lamp.ID, "quantity": 3, "at": now},
			map[string]any{"id": "e2" + suffix, "type": "view", "product_id": lamp.ID, "at": now},
			map[string]any{"id": "e3" + suffix, "type": "view", "product_id": kettle.ID},
			map[string]any{"id": "e4" + suffix, "type": "teleport", "product_id": lamp.ID},
			map[string]any{"id": "e5" + suffix, "type": "view", "product_id": lamp.ID, "at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
			map[string]any{"id": "e6" + suffix, "type": "purchase", "product_id": "no-such-product", "quantity": 1},
		}}
	}
	// Purchases come from the checkout, with a service credential.
	_, checkout := c.createCredential(t, "checkout")
	// Analytics learns the catalog from the stream: wait until it knows both products.
	var first result
	eventually(t, 10*time.Second, "analytics knows the new products", func() bool {
		expect(t, c.do(call{Method: "POST", Path: "/api/analytics/events", Token: checkout, Body: batch(fmt.Sprint(time.Now().UnixNano()))}), 202).JSON(t, &first)
		return first.Accepted == 3
	})
	if first.Rejected != 3 || len(first.Errors) != 3 || first.Errors[0].Index != 3 || first.Errors[0].Field != "type" {
		t.Fatalf("per-item errors: %+v", first)
	}

	// A replayed batch counts once.
	fixed := batch("-fixed")
	var r1, r2 result
	expect(t, c.do(call{Method: "POST", Path: "/api/analytics/events", Token: checkout, Body: fixed}), 202).JSON(t, &r1)
	expect(t, c.do(call{Method: "POST", Path: "/api/analytics/events", Token: checkout, Body: fixed}), 202).JSON(t, &r2)
	if r1.Accepted != 3 || r2.Accepted != 0 || r2.Duplicates != 3 {
		t.Fatalf("replay: first %+v, second %+v", r1, r2)
	}
	big := map[string]any{"events": make([]map[string]any, 501)}
	c.do(call{Method: "POST", Path: "/api/analytics/events", Body: big}).expectProblem(t, 413)

	// Reports are for admins.
	c.get("/api/analytics/top-products?metric=sales", "").expectProblem(t, 401)
	c.get("/api/analytics/top-products?metric=sales", c.customer).expectProblem(t, 403)
	c.get("/api/analytics/top-products?metric=profit", c.admin).expectField(t, 400, "metric")
	var top struct {
		Items []struct {
			ProductID string `json:"product_id"`
			Value     int64  `json:"value"`
		} `json:"items"`
	}
	expect(t, c.get("/api/analytics/top-products?metric=sales&window=1h", c.admin), 200).JSON(t, &top)
	if len(top.Items) == 0 || top.Items[0].ProductID != lamp.ID || top.Items[0].Value < 6 {
		t.Fatalf("top products: %+v", top)
	}
	expect(t, c.get("/api/analytics/summary?window=1h", c.admin), 200)
	expect(t, c.get("/api/analytics/searches?kind=zero-results", c.admin), 200)

	// Purchases come back as product statistics: the lamp leads bestsellers.
	eventually(t, 10*time.Second, "bestsellers reflect purchases", func() bool {
		var best struct{ Items []productJSON }
		expect(t, c.get("/api/products/bestsellers?limit=2", ""), 200).JSON(t, &best)
		return len(best.Items) == 2 && best.Items[0].ID == lamp.ID && best.Items[0].SalesCount >= 6
	})
	eventually(t, 10*time.Second, "search ranks by popularity", func() bool {
		r := c.search(t, "sort=popular")
		return len(r.Items) == 2 && r.Items[0].ID == lamp.ID
	})
	var sorted struct{ Items []productJSON }
	expect(t, c.get("/api/products?sort=-sales", ""), 200).JSON(t, &sorted)
	if sorted.Items[0].ID != lamp.ID {
		t.Fatalf("sort=-sales starts with %s", sorted.Items[0].Name)
	}
}
