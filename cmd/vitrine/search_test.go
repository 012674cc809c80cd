package main

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

type searchJSON struct {
	Total int `json:"total"`
	Items []struct {
		ID         string              `json:"id"`
		Name       string              `json:"name"`
		Highlights map[string][]string `json:"highlights"`
	} `json:"items"`
	Facets struct {
		Brand []struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		} `json:"brand"`
	} `json:"facets"`
}

func (c *catalog) search(t testing.TB, query string) searchJSON {
	t.Helper()
	var r searchJSON
	expect(t, c.get("/api/search?"+query, ""), 200).JSON(t, &r)
	return r
}

// TestSearchFollowsTheCatalog: products created, changed and deleted
// through the API reach the search index through the event stream; each
// query is counted by analytics.
func TestSearchFollowsTheCatalog(t *testing.T) {
	c := startCatalog(t)
	c.createCategory(t, "audio", "")
	c.createCategory(t, "headphones", "audio")
	hp := c.createProduct(t, productBody("Wireless Headphones", "HP-1", 12999, map[string]any{"category": "headphones", "description": "Noise cancelling over-ear headphones"}))
	c.createProduct(t, map[string]any{"name": "Studio Headphones", "brand": "Lumen", "category": "headphones", "status": "active",
		"variants": []any{map[string]any{"sku": "HP-2", "price": map[string]any{"amount": 8999, "currency": "EUR"}, "stock": 1}}})
	c.createProduct(t, productBody("Draft Headphones", "HP-3", 999, map[string]any{"status": "draft"}))

	eventually(t, 10*time.Second, "the new products are searchable", func() bool {
		return c.search(t, "q=headphones").Total == 2
	})
	// Typos, prefixes, category with descendants, disjunctive brand facet.
	if r := c.search(t, "q=hedphones"); r.Total != 2 {
		t.Fatalf("typo: %d results", r.Total)
	}
	if r := c.search(t, "q=wireless+headph"); r.Total < 1 || r.Items[0].ID != hp.ID {
		t.Fatalf("prefix: %+v", r)
	}
	r := c.search(t, "category=audio&brand=Acme&facets=brand,price")
	if r.Total != 1 || len(r.Facets.Brand) != 2 {
		t.Fatalf("filtered by brand, the brand facet still counts the others: %+v", r)
	}
	r = c.search(t, "q=noise")
	if r.Total != 1 || !strings.Contains(strings.Join(r.Items[0].Highlights["description"], ""), "<mark>") {
		t.Fatalf("highlights: %+v", r)
	}
	c.get("/api/search?per_page=500", "").expectField(t, 400, "per_page")
	c.get("/api/search?colour=red", "").expectField(t, 400, "colour")
	var suggest struct{ Suggestions []struct{ Name string } }
	expect(t, c.get("/api/search/suggest?q=wirel", ""), 200).JSON(t, &suggest)
	if len(suggest.Suggestions) == 0 || suggest.Suggestions[0].Name != "Wireless Headphones" {
		t.Fatalf("suggest: %+v", suggest)
	}

	// An update and a delete reach the index.
	expect(t, c.do(call{Method: "PATCH", Path: "/api/products/" + hp.ID, Token: c.admin, ContentType: "application/merge-patch+json",
		Body: `{"name": "Bluetooth Earmuffs"}`}), 200)
	eventually(t, 10*time.Second, "the rename is searchable", func() bool {
		return c.search(t, "q=earmuffs").Total == 1 && c.search(t, "q=wireless").Total == 0
	})
	expect(t, c.do(call{Method: "DELETE", Path: "/api/products/" + hp.ID, Token: c.admin}), 204)
	eventually(t, 10*time.Second, "the delete reaches the index", func() bool {
		return c.search(t, "q=earmuffs").Total == 0
	})

	var status struct {
		Documents   int    `json:"documents"`
		LastApplied uint64 `json:"last_applied"`
		Lag         uint64 `json:"lag"`
	}
	expect(t, c.get("/api/search/status", ""), 200).JSON(t, &status)
	if status.Documents != 1 || status.LastApplied == 0 {
		t.Fatalf("status: %+v", status)
	}

	// Queries are counted by analytics, zero-result ones apart.
	c.search(t, "q="+url.QueryEscape("unobtainium"))
	eventually(t, 10*time.Second, "analytics counts the searches", func() bool {
		var top struct {
			Items []struct {
				Query string `json:"query"`
				Count int    `json:"count"`
			} `json:"items"`
		}
		expect(t, c.get("/api/analytics/searches?kind=zero-results&window=1h&limit=100", c.admin), 200).JSON(t, &top)
		for _, it := range top.Items {
			if it.Query == "unobtainium" && it.Count == 1 {
				return true
			}
		}
		return false
	})
}

// TestSearchIndexRebuildsFromTheStream: a search index that is lost is
// rebuilt by replaying the catalog stream on the next start.
func TestSearchIndexRebuildsFromTheStream(t *testing.T) {
	c := startCatalog(t)
	for _, name := range []string{"Copper Kettle", "Glass Kettle", "Steel Kettle"} {
		c.createProduct(t, productBody(name, strings.ToUpper(strings.Fields(name)[0]), 2500, nil))
	}
	eventually(t, 10*time.Second, "indexed", func() bool { return c.search(t, "q=kettle").Total == 3 })
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := removeAll(c.dataDir + "/search"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, nil, "--data-dir", c.dataDir)
	again := &catalog{server: s}
	eventually(t, 10*time.Second, "rebuilt from the stream", func() bool { return again.search(t, "q=kettle").Total == 3 })
}
