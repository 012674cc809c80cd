package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// TestExportThenImportIsTheIdentity: "vitrine export" of a seeded catalog,
// imported by "vitrine import" into an empty one and exported again, gives
// the same products (ids and times aside); the same file imported twice
// changes nothing the second time; on PostgreSQL as on SQLite.
func TestExportThenImportIsTheIdentity(t *testing.T) {
	for _, where := range []string{"sqlite", "postgres"} {
		t.Run(where, func(t *testing.T) {
			place := func() []string {
				if where == "sqlite" {
					return []string{"--data-dir", t.TempDir()}
				}
				return []string{"--postgres-url", sqltest.NewDatabase(t)}
			}
			src, dst := place(), place()
			runCommand(t, nil, append([]string{"seed", "--products", "30", "--blob-url", "file://" + t.TempDir()}, src...)...)
			file := filepath.Join(t.TempDir(), "catalog.ndjson")
			// Seeded pictures are uploads of the source's picture store: a
			// catalog moving elsewhere links them where the source serves them.
			runCommand(t, nil, append([]string{"export", "--output", file, "--image-base-url", "https://cdn.test"}, src...)...)
			runCommand(t, nil, append([]string{"migrate"}, dst...)...)
			linked := file
			// The categories come with the seed's tree.
			runCommand(t, nil, append([]string{"seed", "--products", "0"}, dst...)...)
			out := runCommand(t, nil, append([]string{"import", linked}, dst...)...)
			if !strings.Contains(out, "30 created, 0 updated, 0 unchanged, 0 failed") {
				t.Fatalf("first import: %s", out)
			}
			out = runCommand(t, nil, append([]string{"import", linked}, dst...)...)
			if !strings.Contains(out, "0 created, 0 updated, 30 unchanged, 0 failed") {
				t.Fatalf("second import: %s", out)
			}
			again := filepath.Join(t.TempDir(), "again.ndjson")
			runCommand(t, nil, append([]string{"export", "--output", again}, dst...)...)
			a, b := writableOf(t, linked), writableOf(t, again)
			if len(a) != 30 || len(b) != 30 {
				t.Fatalf("exported %d then %d products, want 30", len(a), len(b))
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("a product differs:\n%s\n----\n%s", a[i], b[i])
				}
			}
		})
	}
}

// TestImportReportsBadLines: the good lines go in; the command names each
// bad line and fails.
func TestImportReportsBadLines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "catalog.csv")
	csv := "slug,name,sku,price,currency,stock\nmug,Mug,MUG-1,900,EUR,3\ncup,Cup,MUG-1,800,EUR,1\nbowl,,B-1,700,EUR,1\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"import", "--data-dir", dir, file}, func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "2 lines were not imported") {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"1 created", "2 failed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout %q lacks %q", stdout.String(), want)
		}
	}
	for _, want := range []string{`line 3: variants[0].sku: SKU "MUG-1" is already`, "line 4: name: is required"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
}

// writableOf returns the products of an NDJSON file without what the
// server writes, sorted by slug.
func writableOf(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var p map[string]any
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "created_at", "updated_at", "version", "sales_count", "view_count", "thumbnail"} {
			delete(p, k)
		}
		b, _ := json.Marshal(p)
		lines = append(lines, string(b))
	}
	slices.Sort(lines)
	return lines
}
