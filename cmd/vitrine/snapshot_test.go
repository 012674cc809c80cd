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
	env := map[string]string{"VITRINE_NATS_URL": bustest.URL(), "VITRINE_NAMESPACE": namespace,
		"VITRINE_BLOB_URL": (&url.URL{Scheme: "file", Path: blobs}).String()}
	b, err := bus.Open(context.Background(), bus.Config{URL: bustest.URL(), Prefix: namespace, Name: t.Name(), Streams: events.Streams()})
	if err != nil {
		t.Fatalf("event stream (NATS at %s): %v", bustest.URL(), err)
	}
	defer b.Close()
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			p := st.NewProduct(fmt.Sprintf("p-%03d", i), fmt.Sprintf("Cast Iron Skillet %d", i), "Forge", "", true, time.Now(), 3999)
			ev := p.Event()
			if err := b.PublishEvent(context.Background(), ev, ""); err != nil {
				t.Fatal(err)
			}
		}
	}

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
