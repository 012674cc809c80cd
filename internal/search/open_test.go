package search

import (
	"context"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/events"
)

// An index written under another schema is recreated empty, so that the
// caller replays the stream into the current shape.
func TestOtherSchemaIsRecreated(t *testing.T) {
	dir := t.TempDir()
	svc, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ApplyCategory(context.Background(), events.CategoryChanged{Op: events.OpUpsert, Slug: "audio"}, 7); err != nil {
		t.Fatal(err)
	}
	if err := svc.index.SetInternal(keySchema, []byte("vitrine-search-0")); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	svc, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if svc.LastApplied() != 0 || len(svc.categories.Load().records) != 0 {
		t.Fatalf("LastApplied %d, categories %v", svc.LastApplied(), svc.categories.Load().records)
	}
}
