package searchsnap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/internal/search"
)

// Take copies svc's index (search.Service.Checkpoint) into a temporary
// directory under workDir, uploads it packed, then writes its manifest;
// streamCreated is when the catalog stream was created. Nothing becomes
// visible to Restore before the manifest, written last.
func (s *Store) Take(ctx context.Context, svc *search.Service, workDir string, streamCreated time.Time) (Manifest, error) {
	if err := os.MkdirAll(workDir, 0o750); err != nil {
		return Manifest{}, fmt.Errorf("search snapshot: %w", err)
	}
	tmp, err := os.MkdirTemp(workDir, "snapshot-")
	if err != nil {
		return Manifest{}, fmt.Errorf("search snapshot: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "index")
	cp, err := svc.Checkpoint(dir)
	if err != nil {
		return Manifest{}, fmt.Errorf("search snapshot: %w", err)
	}
	m := Manifest{Seq: cp.Seq, StreamCreated: streamCreated.UTC(), Schema: cp.Schema, Documents: cp.Documents,
		TakenAt: time.Now().UTC()}
	if m.Unpacked, err = dirSize(dir); err != nil {
		return Manifest{}, fmt.Errorf("search snapshot: %w", err)
	}
	m.Object = s.objectPrefix() + name(m.Seq, m.TakenAt) + ".tar.zst"
	if m.Size, m.SHA256, err = s.upload(ctx, dir, m.Object); err != nil {
		return Manifest{}, err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return Manifest{}, fmt.Errorf("search snapshot: %w", err)
	}
	if err := s.blobs.Put(ctx, s.manifestKey(m), "application/json", raw); err != nil {
		return Manifest{}, fmt.Errorf("search snapshot: %w", err)
	}
	return m, nil
}

// upload packs dir into the object key, returning its size and SHA-256.
func (s *Store) upload(ctx context.Context, dir, key string) (int64, string, error) {
	w, err := s.blobs.Create(ctx, key, "application/zstd")
	if err != nil {
		return 0, "", fmt.Errorf("search snapshot: %w", err)
	}
	h := sha256.New()
	n := &counter{}
	if err := pack(ctx, dir, io.MultiWriter(w, h, n)); err != nil {
		w.Abort()
		return 0, "", fmt.Errorf("search snapshot: %w", err)
	}
	if err := w.Close(); err != nil {
		return 0, "", fmt.Errorf("search snapshot: %w", err)
	}
	return n.n, hex.EncodeToString(h.Sum(nil)), nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	return total, err
}
