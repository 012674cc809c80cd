// Package blobstore keeps files (product pictures, search index snapshots) in a bucket: a directory
// on local disk (file://) or any S3-compatible store (s3://), through
// gocloud.dev/blob. Keys are made by the caller from checked parts; the
// store adds nothing but the bucket.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs
	"gocloud.dev/gcerrors"
)

// Store is a bucket of blobs.
type Store struct {
	bucket *blob.Bucket
}

// Open opens the bucket at rawURL: file:///a/dir (created when missing) or
// s3://bucket?endpoint=…&region=…&use_path_style=true, with credentials
// from the standard AWS environment variables.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob store URL: %w", err)
	}
	var bucket *blob.Bucket
	switch u.Scheme {
	case fileblob.Scheme:
		// Temporary files next to their final place, so that a rename
		// never crosses file systems. The content type goes in a sidecar
		// file, as S3 keeps it with the object.
		bucket, err = fileblob.OpenBucket(u.Path, &fileblob.Options{CreateDir: true, NoTempDir: true})
	case "s3":
		bucket, err = blob.OpenBucket(ctx, rawURL)
	default:
		return nil, fmt.Errorf("blob store URL %q: the scheme must be file or s3", rawURL)
	}
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", u.Redacted(), err)
	}
	return &Store{bucket: bucket}, nil
}

// Put writes data under key, replacing what was there.
func (s *Store) Put(ctx context.Context, key, contentType string, data []byte) error {
	opts := &blob.WriterOptions{ContentType: contentType}
	if err := s.bucket.WriteAll(ctx, key, data, opts); err != nil {
		return fmt.Errorf("blob store: write %s: %w", key, err)
	}
	return nil
}

// Writer is a blob being written: nothing is visible under its key until
// Close returns nil, and Abort leaves nothing behind.
type Writer struct {
	w      *blob.Writer
	cancel context.CancelFunc
	key    string
}

// Create starts writing a blob under key, for data too large to hold in
// memory.
func (s *Store) Create(ctx context.Context, key, contentType string) (*Writer, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := s.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("blob store: write %s: %w", key, err)
	}
	return &Writer{w: w, cancel: cancel, key: key}, nil
}

func (w *Writer) Write(p []byte) (int, error) { return w.w.Write(p) }

// Close commits the blob.
func (w *Writer) Close() error {
	defer w.cancel()
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("blob store: write %s: %w", w.key, err)
	}
	return nil
}

// Abort discards what was written (a cancelled write is never committed).
func (w *Writer) Abort() {
	w.cancel()
	_ = w.w.Close()
}

// Object is a blob as a listing shows it.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// List returns the blobs whose keys start with prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("blob store: list %s: %w", prefix, err)
		}
		if !obj.IsDir {
			out = append(out, Object{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime})
		}
	}
}

// Exists reports whether key holds a blob.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("blob store: look up %s: %w", key, err)
	}
	return ok, nil
}

// Delete removes key; a key already gone is no error, so that a retried
// clean-up succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("blob store: delete %s: %w", key, err)
	}
	return nil
}

// ErrNotFound is returned by Open for a key that holds nothing.
var ErrNotFound = errors.New("blob store: not found")

// Open returns a reader of key (ErrNotFound when absent). It can seek, so
// a server answers range requests from it.
func (s *Store) Open(ctx context.Context, key string) (*blob.Reader, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob store: read %s: %w", key, err)
	}
	return r, nil
}

// Ping checks the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.bucket.IsAccessible(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("blob store: the bucket is not accessible")
	}
	return nil
}

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }
