package productdb_test

import (
	"context"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// TestConcurrentMovesMakeNoCycle: two instances move a under b and b under
// a at the same moment. Each move alone is valid; together they would make
// a cycle. The check runs inside the write transaction, so one of them is
// refused, every time.
func TestConcurrentMovesMakeNoCycle(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			cfg := sqltest.Config(t, d, "product")
			var stores [2]*productdb.Store
			for i := range stores {
				s, err := productdb.Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				stores[i] = s
			}
			for _, c := range []product.Category{{Slug: "root", Name: "Root"}, {Slug: "a", Name: "A", Parent: "root"}, {Slug: "b", Name: "B", Parent: "root"}} {
				if err := stores[0].CreateCategory(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			for round := 0; round < 20; round++ {
				for _, slug := range []string{"a", "b"} {
					if err := stores[0].UpdateCategory(ctx, slug, product.Category{Slug: slug, Name: slug, Parent: "root"}); err != nil {
						t.Fatal(err)
					}
				}
				moves := [2]product.Category{{Slug: "a", Name: "a", Parent: "b"}, {Slug: "b", Name: "b", Parent: "a"}}
				var (
					wg    sync.WaitGroup
					start = make(chan struct{})
					errs2 [2]error
				)
				for i, m := range moves {
					wg.Go(func() {
						<-start
						errs2[i] = stores[i].UpdateCategory(ctx, m.Slug, m)
					})
				}
				close(start)
				wg.Wait()
				moved := 0
				for i, err := range errs2 {
					switch {
					case err == nil:
						moved++
					case !errs.Is(err, errs.KindInvalid):
						t.Fatalf("round %d: move %d: %v", round, i, err)
					}
				}
				if moved != 1 {
					t.Fatalf("round %d: %d moves succeeded, want exactly 1 (%v)", round, moved, errs2)
				}
				flat, err := stores[0].Categories(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := product.Descendants(flat, "root"); len(got) != 3 {
					t.Fatalf("round %d: root reaches %v: the tree has a cycle", round, got)
				}
			}
		})
	}
}

// TestDescendantsStopsOnACycle: a tree read with a cycle in it (as a
// store without the check could hold) is walked once.
func TestDescendantsStopsOnACycle(t *testing.T) {
	flat := []product.Category{{Slug: "a", Parent: "b"}, {Slug: "b", Parent: "a"}, {Slug: "c", Parent: "a"}}
	if got := product.Descendants(flat, "a"); len(got) != 3 {
		t.Fatalf("descendants of a: %v", got)
	}
}
