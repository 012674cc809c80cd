package blobstore_test

import (
	"context"
	"io"
	"net/url"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore/s3test"
)

// Every store behaves alike: on local disk, and on a real S3 server.
func TestStores(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		testStore(t, (&url.URL{Scheme: "file", Path: t.TempDir() + "/blobs"}).String())
	})
	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t)
		srv.CreateBucket(t, "pictures")
		testStore(t, srv.BlobURL("pictures"))
	})
}

func testStore(t *testing.T, rawURL string) {
	ctx := context.Background()
	s, err := blobstore.Open(ctx, rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	key := "images/abc/thumbnail.jpg"
	if ok, err := s.Exists(ctx, key); err != nil || ok {
		t.Fatalf("Exists before Put = %v, %v; want false", ok, err)
	}
	if _, err := s.Open(ctx, key); err != blobstore.ErrNotFound {
		t.Fatalf("Open before Put: %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, key, "image/jpeg", []byte("picture")); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != "picture" || r.ContentType() != "image/jpeg" {
		t.Fatalf("read back %q as %q, want %q as image/jpeg", got, r.ContentType(), "picture")
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, key); ok {
		t.Fatal("the blob is still there after Delete")
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("a second Delete: %v, want nil", err)
	}
	testStreams(t, s)
}

// A streamed blob appears whole on Close, an aborted one never, and List
// finds blobs by prefix.
func testStreams(t *testing.T, s *blobstore.Store) {
	ctx := context.Background()
	w, err := s.Create(ctx, "snapshots/a.tar", "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "whole"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	aborted, err := s.Create(ctx, "snapshots/b.tar", "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(aborted, "half")
	aborted.Abort()
	if err := s.Put(ctx, "other/c", "text/plain", []byte("c")); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, "snapshots/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Key != "snapshots/a.tar" || list[0].Size != 5 || list[0].ModTime.IsZero() {
		t.Fatalf("List(snapshots/) = %+v, want only snapshots/a.tar of 5 bytes", list)
	}
}

func TestOpenRefusesOtherSchemes(t *testing.T) {
	if _, err := blobstore.Open(context.Background(), "gs://bucket"); err == nil {
		t.Fatal("gs:// was accepted")
	}
}
