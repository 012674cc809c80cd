package searchsnap

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/search"
)

// Usable says which snapshots a new instance may start from.
type Usable struct {
	Schema        string    // the index layout of this build (search.Schema)
	StreamCreated time.Time // the catalog stream's creation
	StreamLast    uint64    // and its last sequence
	MaxAge        time.Duration
	Now           time.Time
}

// check reports why m cannot be used, or nil.
func (u Usable) check(m Manifest) error {
	switch {
	case m.Schema != u.Schema:
		return fmt.Errorf("index schema %q, this build reads %q", m.Schema, u.Schema)
	case !m.StreamCreated.Equal(u.StreamCreated):
		return fmt.Errorf("taken from a stream created at %s, not the current one (%s)", m.StreamCreated, u.StreamCreated)
	case m.Seq > u.StreamLast:
		return fmt.Errorf("covers sequence %d, past the stream's last (%d)", m.Seq, u.StreamLast)
	case u.MaxAge > 0 && u.Now.Sub(m.TakenAt) > u.MaxAge:
		return fmt.Errorf("taken at %s, older than %s", m.TakenAt, u.MaxAge)
	}
	return nil
}

// Restore puts the newest usable snapshot whose object is whole into dir,
// as search.Open reads it, and returns its manifest; ok is false when none
// could be restored (the instance then rebuilds from the stream). A
// snapshot that fails any check is logged and the next older one tried.
// dir must hold no open index.
func (s *Store) Restore(ctx context.Context, dir string, usable Usable) (m Manifest, ok bool, err error) {
	manifests, err := s.Manifests(ctx)
	if err != nil {
		return Manifest{}, false, err
	}
	for _, m := range manifests {
		if err := usable.check(m); err != nil {
			s.log.InfoContext(ctx, "search snapshot not usable", "object", m.Object, "reason", err)
			continue
		}
		if err := s.restore(ctx, m, dir); err != nil {
			if ctx.Err() != nil {
				return Manifest{}, false, ctx.Err()
			}
			s.log.WarnContext(ctx, "search snapshot not restored", "object", m.Object, "err", err)
			continue
		}
		return m, true, nil
	}
	return Manifest{}, false, nil
}

// restore unpacks m's object into a staging directory while hashing it,
// and adopts what it unpacked only when the object had the manifest's
// size and checksum.
func (s *Store) restore(ctx context.Context, m Manifest, dir string) error {
	staging := filepath.Join(dir, "restoring")
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	r, err := s.blobs.Open(ctx, m.Object)
	if errors.Is(err, blobstore.ErrNotFound) {
		return errors.New("the manifest's object is missing")
	}
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha256.New()
	n := &counter{}
	body := io.TeeReader(io.LimitReader(r, m.Size+1), io.MultiWriter(h, n))
	files := filepath.Join(staging, "index")
	unpackErr := unpack(bufio.NewReaderSize(body, 1<<20), files, m.Unpacked)
	// Whatever unpack left unread still counts for the checksum.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return fmt.Errorf("read object: %w", err)
	}
	switch {
	case n.n != m.Size:
		return fmt.Errorf("object holds %d bytes (counting at most one past), the manifest says %d", n.n, m.Size)
	case hex.EncodeToString(h.Sum(nil)) != m.SHA256:
		return errors.New("object does not match the manifest's SHA-256")
	case unpackErr != nil:
		return unpackErr
	}
	return search.Adopt(files, dir)
}
