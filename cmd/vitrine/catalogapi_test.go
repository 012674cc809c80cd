package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

type importJob struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Summary struct {
		Lines, Created, Updated, Unchanged, Failed int
	} `json:"summary"`
	Problems []struct {
		Line    int    `json:"line"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"problems"`
}

// TestImportJobAndExportOverTheAPI: an admin posts a catalog file, follows
// the import job at its Location until done, reads the bad lines in its
// report, finds the products, and exports the catalog as NDJSON and CSV.
// Customers may do neither.
func TestImportJobAndExportOverTheAPI(t *testing.T) {
	c := startCatalog(t)
	file := `{"slug":"lamp","name":"Lamp","status":"active","variants":[{"sku":"LAMP-1","price":{"amount":2500,"currency":"EUR"},"stock":4}]}
{"slug":"rug","name":"","variants":[{"sku":"RUG-1","price":{"amount":100,"currency":"EUR"},"stock":1}]}
{"slug":"vase","name":"Vase","status":"draft","variants":[{"sku":"VASE-1","price":{"amount":900,"currency":"EUR"},"stock":0}]}
`
	expect(t, c.do(call{Method: "POST", Path: "/api/products/import", Token: c.customer, ContentType: "application/x-ndjson", Body: file}), 403)
	expect(t, c.do(call{Method: "POST", Path: "/api/products/import", Token: c.admin, ContentType: "text/plain", Body: file}), 415)

	r := expect(t, c.do(call{Method: "POST", Path: "/api/products/import", Token: c.admin, ContentType: "application/x-ndjson", Body: file}), 202)
	var job importJob
	r.JSON(t, &job)
	location := r.Header.Get("Location")
	if job.State != "running" || location != "/api/products/import/jobs/"+job.ID {
		t.Fatalf("job %+v at %q", job, location)
	}
	testwait.Until(t, 10*time.Second, "the import job ends", func() bool {
		expect(t, c.do(call{Method: "GET", Path: location, Token: c.admin}), 200).JSON(t, &job)
		return job.State != "running"
	})
	if job.State != "done" || job.Summary.Created != 2 || job.Summary.Failed != 1 ||
		len(job.Problems) != 1 || job.Problems[0].Line != 2 || job.Problems[0].Field != "name" {
		t.Fatalf("job %+v", job)
	}
	expect(t, c.do(call{Method: "GET", Path: location, Token: c.customer}), 403)
	expect(t, c.do(call{Method: "GET", Path: "/api/products/import/jobs/nope", Token: c.admin}), 404)
	expect(t, c.get("/api/products/lamp", ""), 200)

	expect(t, c.do(call{Method: "GET", Path: "/api/products/export", Token: c.customer}), 403)
	r = expect(t, c.do(call{Method: "GET", Path: "/api/products/export", Token: c.admin}), 200)
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" || len(lines) != 2 {
		t.Fatalf("export %s:\n%s", ct, r.Body)
	}
	for _, line := range lines {
		var p productJSON
		if err := json.Unmarshal([]byte(line), &p); err != nil || (p.Slug != "lamp" && p.Slug != "vase") {
			t.Fatalf("exported line %s (%v)", line, err)
		}
	}
	r = expect(t, c.do(call{Method: "GET", Path: "/api/products/export?format=csv", Token: c.admin}), 200)
	if !strings.HasPrefix(string(r.Body), "slug,name,") || strings.Count(string(r.Body), "\n") != 3 {
		t.Fatalf("CSV export:\n%s", r.Body)
	}
	expect(t, c.do(call{Method: "GET", Path: "/api/products/export?format=xml", Token: c.admin}), 400)
	expect(t, c.do(call{Method: "GET", Path: "/api/products/export?image_base_url=ftp://x", Token: c.admin}), 400)
}
