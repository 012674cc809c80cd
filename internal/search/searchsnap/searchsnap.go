// Package searchsnap keeps snapshots of a search index in a blob store (the
// one that keeps product pictures), so that a new search instance starts
// from the newest one and replays only the catalog stream after it.
//
// A snapshot is two blobs. The object is the index and its bookkeeping, as
// search.Service.Checkpoint copies them, in a zstd-compressed tar. The
// manifest, a small JSON document written only once the object is whole,
// names the object with its size and SHA-256 and says which stream
// sequence it covers. A restore trusts nothing but a manifest whose object
// has exactly that size and checksum, so an upload cut short (a killed
// instance, a full disk) is never restored: without its manifest an
// object is invisible, and a manifest without its object is skipped.
package searchsnap

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
)

// Manifest describes one snapshot.
type Manifest struct {
	Object string `json:"object"` // key of the archive
	Size   int64  `json:"size"`   // of the archive, in bytes
	SHA256 string `json:"sha256"` // of the archive, hex
	// Seq is the last catalog stream sequence the index applied: a
	// restored instance consumes from Seq+1.
	Seq uint64 `json:"seq"`
	// StreamCreated tells the stream the sequence belongs to: a stream
	// created again numbers its messages from 1.
	StreamCreated time.Time `json:"stream_created"`
	Schema        string    `json:"schema"` // the index's layout (search.Checkpoint.Schema)
	Documents     uint64    `json:"documents"`
	Unpacked      int64     `json:"unpacked"` // bytes of the files in the archive
	TakenAt       time.Time `json:"taken_at"`
}

// Store keeps snapshots under a prefix of a blob store.
type Store struct {
	blobs  *blobstore.Store
	prefix string // ends with "/"
	log    *slog.Logger
}

// New returns the snapshots under prefix (say "search-snapshots/") of
// blobs.
func New(blobs *blobstore.Store, prefix string, log *slog.Logger) *Store {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if log == nil {
		log = slog.Default()
	}
	return &Store{blobs: blobs, prefix: prefix, log: log.With("component", "search-snapshots")}
}

func (s *Store) manifestPrefix() string { return s.prefix + "manifests/" }
func (s *Store) objectPrefix() string   { return s.prefix + "objects/" }

// name orders snapshots by sequence, then time, as keys sort.
func name(seq uint64, at time.Time) string {
	return fmt.Sprintf("%020d-%020d", seq, at.UnixNano())
}

// maxManifest bounds what a manifest may weigh when read.
const maxManifest = 64 << 10

// Manifests returns the manifests that can be read and make sense, newest
// first. It does not check their objects: Restore does.
func (s *Store) Manifests(ctx context.Context) ([]Manifest, error) {
	objs, err := s.blobs.List(ctx, s.manifestPrefix())
	if err != nil {
		return nil, err
	}
	slices.SortFunc(objs, func(a, b blobstore.Object) int { return strings.Compare(b.Key, a.Key) })
	var out []Manifest
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		m, err := s.readManifest(ctx, o.Key)
		if err != nil {
			s.log.WarnContext(ctx, "search snapshot manifest skipped", "key", o.Key, "err", err)
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Store) readManifest(ctx context.Context, key string) (Manifest, error) {
	if len(key) == 0 {
		return Manifest{}, fmt.Errorf("no key")
	}
	r, err := s.blobs.Open(ctx, key)
	if err != nil {
		return Manifest{}, err
	}
	defer r.Close()
	if r.Size() > maxManifest {
		return Manifest{}, fmt.Errorf("%d bytes, more than a manifest holds", r.Size())
	}
	var m Manifest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("decode: %w", err)
	}
	sum, err := hex.DecodeString(m.SHA256)
	switch {
	case err != nil || len(sum) != 32:
		return Manifest{}, fmt.Errorf("sha256 %q is not a SHA-256 in hex", m.SHA256)
	case !strings.HasPrefix(m.Object, s.objectPrefix()):
		return Manifest{}, fmt.Errorf("object %q is not a snapshot object", m.Object)
	case m.Size <= 0 || m.Unpacked <= 0:
		return Manifest{}, fmt.Errorf("sizes %d and %d must be positive", m.Size, m.Unpacked)
	}
	return m, nil
}

func (s *Store) manifestKey(m Manifest) string {
	return s.manifestPrefix() + name(m.Seq, m.TakenAt) + ".json"
}
