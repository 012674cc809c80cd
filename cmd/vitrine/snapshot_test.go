package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// TestNewSearchInstanceStartsFromASnapshot: a search instance snapshots
// its index into the blob store after bulk changes; a second instance,
// started empty, restores it, replays only what came after, and is ready
// and answers as the first.
func TestNewSearchInstanceStartsFromASnapshot(t *testing.T) {
	namespace := bustest.Prefix(t)
	blobs := filepath.Join(t.TempDir(), "blobs")
	env := map[string]string{"VITRINE_NATS_URL": bustest.URL(), "VITRINE_NAMESPACE": namespace, "VITRINE_BLOB_URL": fileURL(blobs)}
	publish := catalogPublisher(t, namespace)

	first := &catalog{server: startServer(t, env, "--target", "search", "--data-dir", t.TempDir(),
		"--search-snapshot-every", "20")}
	publish(0, 30)
	manifests := filepath.Join(blobs, "search-snapshots", namespace, "manifests")
	eventually(t, 20*time.Second, "the first instance snapshots its index", func() bool {
		entries, _ := os.ReadDir(manifests)
		return len(entries) > 0
	})
	publish(30, 35)
	eventually(t, 10*time.Second, "the first instance indexes everything", func() bool {
		return first.search(t, "q=skillet").Total == 35
	})

	second := &catalog{server: startServer(t, env, "--target", "search", "--data-dir", t.TempDir())}
	var ready struct{ Checks map[string]string }
	eventually(t, 10*time.Second, "the new instance is ready once caught up", func() bool {
		r := second.get("/readyz", "")
		r.JSON(t, &ready)
		return r.Status == 200
	})
	if ready.Checks["search_caught_up"] != "ok" {
		t.Fatalf("readyz of a new instance: %+v, want search_caught_up ok", ready)
	}
	if got := second.search(t, "q=skillet").Total; got != 35 {
		t.Fatalf("the new instance finds %d skillets, want 35", got)
	}
	if logs := second.stderr.String(); !strings.Contains(logs, "index restored from a snapshot") {
		t.Fatalf("the new instance did not start from the snapshot:\n%s", logs)
	}
}

// catalogPublisher returns a function that publishes products from..to-1
// (skillets) on the catalog stream of namespace, as the product service
// would.
func catalogPublisher(t *testing.T, namespace string) func(from, to int) {
	b, err := bus.Open(context.Background(), bus.Config{URL: bustest.URL(), Prefix: namespace, Name: t.Name(), Streams: events.Streams()})
	if err != nil {
		t.Fatalf("event stream (NATS at %s): %v", bustest.URL(), err)
	}
	t.Cleanup(func() { b.Close() })
	return func(from, to int) {
		for i := from; i < to; i++ {
			p := st.NewProduct(fmt.Sprintf("p-%06d", i), fmt.Sprintf("Cast Iron Skillet %d", i), "Forge", "", true, time.Now(), 3999)
			if err := b.PublishEvent(context.Background(), p.Event(), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func fileURL(dir string) string { return (&url.URL{Scheme: "file", Path: dir}).String() }

// TestKilledDuringSnapshotUploadNothingHalfIsRestored: a search instance
// is killed (SIGKILL) as soon as its snapshot upload has begun; a new
// instance then never restores a half-written snapshot: it rebuilds from
// the stream (or, if the upload had finished, restores the whole one) and
// finds every product.
func TestKilledDuringSnapshotUploadNothingHalfIsRestored(t *testing.T) {
	const products = 4_000
	namespace := bustest.Prefix(t)
	blobs := filepath.Join(t.TempDir(), "blobs")
	publish := catalogPublisher(t, namespace)
	publish(0, products)
	args := []string{"--target", "search", "--nats-url", bustest.URL(), "--namespace", namespace,
		"--blob-url", fileURL(blobs), "--search-snapshot-interval", "0"}

	_, kill := startKillableProcess(t, append(args, "--data-dir", t.TempDir(), "--search-snapshot-every", "1")...)
	objects := filepath.Join(blobs, "search-snapshots", namespace, "objects")
	manifests := filepath.Join(blobs, "search-snapshots", namespace, "manifests")
	deadline := time.Now().Add(2 * time.Minute)
	for !hasEntries(objects) {
		if time.Now().After(deadline) {
			t.Fatal("the instance never began a snapshot upload")
		}
		time.Sleep(time.Millisecond)
	}
	kill()
	if hasEntries(manifests) {
		t.Log("the upload finished before the kill: the new instance may restore it, whole")
	} else {
		t.Log("killed during the upload: an object without a manifest is left")
	}

	second := &catalog{server: startServer(t, nil, append(args, "--data-dir", t.TempDir(), "--search-snapshot-every", "0")...)}
	eventually(t, 2*time.Minute, "the new instance is ready", func() bool { return second.get("/readyz", "").Status == 200 })
	if got := second.search(t, "q=skillet").Total; got != products {
		t.Fatalf("the new instance finds %d skillets, want %d", got, products)
	}
	logs := second.stderr.String()
	if !hasEntries(manifests) && !strings.Contains(logs, "no usable snapshot") {
		t.Fatalf("with no whole snapshot, the new instance should rebuild from the stream:\n%s", logs)
	}
}

func hasEntries(dir string) bool {
	entries, _ := os.ReadDir(dir)
	return len(entries) > 0
}
