package searchsnap_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore/s3test"
	"github.com/vitrine-dev/vitrine/internal/search"
	"github.com/vitrine-dev/vitrine/internal/search/searchsnap"
)

// A new instance restored from a snapshot, on local disk or in a real S3
// store, answers as the instance that took it, once it has replayed the
// events after the snapshot: each of them exactly once, none before.
func TestRestoredInstanceAnswersAsTheSource(t *testing.T) {
	t.Run("file", func(t *testing.T) { testRestore(t, "") })
	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t)
		srv.CreateBucket(t, "vitrine")
		testRestore(t, srv.BlobURL("vitrine"))
	})
}

func testRestore(t *testing.T, blobURL string) {
	ctx := context.Background()
	c := newCatalog(t, blobURL)
	c.publishCatalog(300)
	source := c.start(t.TempDir())
	m := c.take(source)
	if m.Seq != c.last() || m.Documents == 0 {
		t.Fatalf("snapshot covers seq %d with %d documents, want seq %d and documents", m.Seq, m.Documents, c.last())
	}
	// After the snapshot: new versions, deletes and new products.
	for i := range 40 {
		c.publish(product(i, 2))
	}
	for i := 40; i < 60; i++ {
		c.publish(events.ProductChanged{Op: events.OpDelete, ID: product(i, 1).ID, Version: 2, At: time.Now()})
	}
	for i := 300; i < 320; i++ {
		c.publish(product(i, 1))
	}
	last := c.last()
	source.waitFor(t, last)

	dir := filepath.Join(t.TempDir(), "search")
	got, ok, err := c.snaps.Restore(ctx, dir, c.usable())
	if err != nil || !ok || got.Object != m.Object {
		t.Fatalf("Restore = %v, %v, %v; want the snapshot %s", got.Object, ok, err, m.Object)
	}
	restored := c.start(dir)
	restored.waitFor(t, last)
	if want, got := answers(t, source.svc), answers(t, restored.svc); !slices.Equal(got, want) {
		t.Fatalf("the restored instance answers\n%v\nwant\n%v", got, want)
	}
	var want []uint64
	for seq := m.Seq + 1; seq <= last; seq++ {
		want = append(want, seq)
	}
	if handed := restored.handed(); !slices.Equal(handed, want) {
		t.Fatalf("the restored instance was handed sequences %v, want %d..%d once each", handed, m.Seq+1, last)
	}
}

// A snapshot whose object is cut short, altered, missing, or still being
// uploaded is never restored: the next older whole one is, and with none
// the instance starts empty, to rebuild from the stream.
func TestBrokenSnapshotsAreNeverRestored(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, "")
	c.publishCatalog(50)
	source := c.start(t.TempDir())
	good := c.take(source)
	c.publish(product(1, 2))
	newer := c.take(source)
	whole := read(t, c, newer.Object)
	newerManifest := manifestKey(newer)
	wholeManifest := read(t, c, newerManifest)

	for _, tc := range []struct {
		name  string
		spoil func()
	}{
		{"truncated", func() { put(t, c, newer.Object, whole[:len(whole)/2]) }},
		{"one byte altered", func() {
			altered := slices.Clone(whole)
			altered[len(altered)/2] ^= 0xff
			put(t, c, newer.Object, altered)
		}},
		{"longer", func() { put(t, c, newer.Object, append(slices.Clone(whole), 0)) }},
		{"object missing", func() {
			if err := c.blobs.Delete(ctx, newer.Object); err != nil {
				t.Fatal(err)
			}
		}},
		{"manifest garbled", func() {
			put(t, c, newerManifest, []byte(`{"object": "search-snapshots/objects/x", "size": `))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spoil()
			dir := filepath.Join(t.TempDir(), "search")
			got, ok, err := c.snaps.Restore(ctx, dir, c.usable())
			if err != nil || !ok || got.Object != good.Object {
				t.Fatalf("Restore = %s, %v, %v; want the older whole snapshot %s", got.Object, ok, err, good.Object)
			}
			checkIndex(t, dir, good.Seq)
			put(t, c, newer.Object, whole)
			put(t, c, newerManifest, wholeManifest)
		})
	}

	t.Run("upload killed before its manifest", func(t *testing.T) {
		// An object is written, its manifest never: the object is
		// invisible.
		w, err := c.blobs.Create(ctx, "search-snapshots/objects/99999999999999999999-1.tar.zst", "application/zstd")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(whole[:len(whole)/3])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "search")
		got, ok, err := c.snaps.Restore(ctx, dir, c.usable())
		if err != nil || !ok || got.Object != newer.Object {
			t.Fatalf("Restore = %s, %v, %v; want the newest whole snapshot %s", got.Object, ok, err, newer.Object)
		}
	})

	t.Run("none whole", func(t *testing.T) {
		put(t, c, newer.Object, whole[:10])
		if err := c.blobs.Delete(ctx, good.Object); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "search")
		_, ok, err := c.snaps.Restore(ctx, dir, c.usable())
		if err != nil || ok {
			t.Fatalf("Restore = %v, %v; want nothing restored", ok, err)
		}
		if search.HasIndex(dir) {
			t.Fatal("a broken snapshot left an index behind")
		}
		checkIndex(t, dir, 0)
	})
}

// Snapshots of another stream, of another index schema, too old for the
// bound, or ahead of the stream are not used.
func TestUnusableSnapshotsAreSkipped(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, "")
	c.publishCatalog(5)
	source := c.start(t.TempDir())
	c.take(source)
	for name, change := range map[string]func(u *searchsnap.Usable){
		"another stream": func(u *searchsnap.Usable) { u.StreamCreated = u.StreamCreated.Add(time.Second) },
		"another schema": func(u *searchsnap.Usable) { u.Schema = "vitrine-search-0" },
		"too old":        func(u *searchsnap.Usable) { u.Now = u.Now.Add(2 * time.Hour) },
		"ahead":          func(u *searchsnap.Usable) { u.StreamLast = 3 },
	} {
		t.Run(name, func(t *testing.T) {
			u := c.usable()
			change(&u)
			if _, ok, err := c.snaps.Restore(ctx, filepath.Join(t.TempDir(), "search"), u); err != nil || ok {
				t.Fatalf("Restore = %v, %v; want nothing restored", ok, err)
			}
		})
	}
}

// Only the newest snapshots are kept, and objects of uploads that never
// finished go once they are an hour old.
func TestPruneKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, "")
	c.publishCatalog(5)
	source := c.start(t.TempDir())
	var taken []string
	for i := range 4 {
		c.publish(product(0, int64(2+i)))
		taken = append(taken, c.take(source).Object)
	}
	for _, key := range []string{"search-snapshots/objects/orphan-old", "search-snapshots/objects/orphan-young"} {
		put(t, c, key, []byte("half an upload"))
	}
	if err := c.snaps.Prune(ctx, 2, time.Now().Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ms, err := c.snaps.Manifests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Object != taken[3] || ms[1].Object != taken[2] {
		t.Fatalf("manifests after pruning: %+v, want those of %v", ms, taken[2:])
	}
	want := []string{taken[2], taken[3], "search-snapshots/objects/orphan-old", "search-snapshots/objects/orphan-young"}
	if got := keys(t, c, "search-snapshots/objects/"); !slices.Equal(got, want) {
		t.Fatalf("objects after pruning: %v, want %v", got, want)
	}
	if err := c.snaps.Prune(ctx, 2, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, c, "search-snapshots/objects/"); !slices.Equal(got, taken[2:]) {
		t.Fatalf("objects an hour later: %v, want %v", got, taken[2:])
	}
}
