package productdb_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// testImages: products hold uploaded pictures by hash; a picture is free
// to delete once no product holds it (and not before), and an upload left
// unfinished is free to delete once stale.
func testImages(t *testing.T, s product.Store) {
	ctx := context.Background()
	is := s.(product.ImageStore)
	hashA, hashB, hashC := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	for _, h := range []string{hashA, hashB, hashC} {
		if err := is.SaveImage(ctx, product.ImageFile{Hash: h, ContentType: "image/png", Width: 10, Height: 10, Bytes: 100}); err != nil {
			t.Fatal(err)
		}
	}
	toDelete := func(staleBefore time.Time) []string {
		t.Helper()
		hs, err := is.ImagesToDelete(ctx, staleBefore, 100)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(hs)
		return hs
	}
	uploaded := func(hashes ...string) []product.Image {
		var out []product.Image
		for _, h := range hashes {
			out = append(out, product.Image{Hash: h, URL: "/images/" + h + "/full.jpg"})
		}
		return out
	}

	p1 := newProduct(1, "Acme", "", 100)
	p1.Images = uploaded(hashA)
	mustCreate(t, s, p1)
	p2 := newProduct(2, "Acme", "", 100)
	p2.Images = uploaded(hashA, hashB)
	mustCreate(t, s, p2)
	if got := toDelete(time.Time{}); len(got) != 0 {
		t.Fatalf("held and pending pictures listed for deletion: %v", got)
	}

	// p2 lets go of B: B is free to delete; files that cannot be removed
	// keep it listed.
	next := *p2
	next.Images, next.Version = uploaded(hashA), 2
	if err := s.UpdateProduct(ctx, &next, 1); err != nil {
		t.Fatal(err)
	}
	if got := toDelete(time.Time{}); !slices.Equal(got, []string{hashB}) {
		t.Fatalf("after p2 let go of B: %v, want B", got)
	}
	failed := errors.New("the bucket is down")
	if _, err := is.DeleteImage(ctx, hashB, time.Time{}, func(context.Context) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("DeleteImage with failing files: %v", err)
	}
	if got := toDelete(time.Time{}); !slices.Equal(got, []string{hashB}) {
		t.Fatalf("a picture whose files stayed is no longer listed: %v", got)
	}
	removed := 0
	ok, err := is.DeleteImage(ctx, hashB, time.Time{}, func(context.Context) error { removed++; return nil })
	if err != nil || !ok || removed != 1 {
		t.Fatalf("DeleteImage = %v, %v (files removed %d times)", ok, err, removed)
	}
	if ok, _ := is.DeleteImage(ctx, hashA, time.Time{}, func(context.Context) error { t.Fatal("removed a held picture"); return nil }); ok {
		t.Fatal("deleted a picture two products hold")
	}

	// A is shared: deleting one holder keeps it, deleting the other frees it.
	if err := s.DeleteProduct(ctx, p1.ID, 1); err != nil {
		t.Fatal(err)
	}
	if got := toDelete(time.Time{}); len(got) != 0 {
		t.Fatalf("a picture another product holds is listed: %v", got)
	}
	if err := s.DeleteProduct(ctx, p2.ID, 2); err != nil {
		t.Fatal(err)
	}
	if got := toDelete(time.Time{}); !slices.Equal(got, []string{hashA}) {
		t.Fatalf("after both holders were deleted: %v, want A", got)
	}

	// C never reached a product: listed only once stale.
	if got := toDelete(time.Now().Add(time.Hour)); !slices.Equal(got, []string{hashA, hashC}) {
		t.Fatalf("with stale uploads: %v, want A and C", got)
	}
	noFiles := func(context.Context) error { return nil }
	if ok, _ := is.DeleteImage(ctx, hashC, time.Time{}, noFiles); ok {
		t.Fatal("deleted an upload under way")
	}
	if ok, err := is.DeleteImage(ctx, hashC, time.Now().Add(time.Hour), noFiles); !ok || err != nil {
		t.Fatalf("a stale upload: deleted %v, %v", ok, err)
	}

	// A product cannot name a picture never uploaded.
	ghost := newProduct(3, "Acme", "", 100)
	ghost.Images = uploaded(strings.Repeat("d", 64))
	var e *errs.Error
	if err := s.CreateProduct(ctx, ghost, nil); !errors.As(err, &e) || e.Kind != errs.KindInvalid ||
		len(e.Fields) != 1 || e.Fields[0].Field != "images[0].hash" {
		t.Fatalf("a product naming an unknown picture: %v, want invalid images[0].hash", err)
	}

	// Products loaded in bulk take back a released picture they share.
	p4, p5 := newProduct(4, "Acme", "", 100), newProduct(5, "Acme", "", 100)
	p4.Images, p5.Images = uploaded(hashA), uploaded(hashA)
	if err := s.CreateProducts(ctx, []*product.Product{p4, p5}); err != nil {
		t.Fatal(err)
	}
	if got := toDelete(time.Time{}); len(got) != 0 {
		t.Fatalf("a picture two new products hold is listed: %v", got)
	}
	if err := s.DeleteProduct(ctx, p4.ID, 1); err != nil {
		t.Fatal(err)
	}
	if got := toDelete(time.Time{}); len(got) != 0 {
		t.Fatalf("a picture the second of two products holds is listed: %v", got)
	}
}
