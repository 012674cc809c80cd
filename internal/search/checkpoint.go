package search

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/blevesearch/bleve/v2"
	index "github.com/blevesearch/bleve_index_api"
)

// Schema names the index's layout. Open recreates an index of another
// schema empty, so a copy serves only instances of the same schema.
const Schema = schemaVersion

// Checkpoint is what a consistent copy of the index covers.
type Checkpoint struct {
	// Seq is the last catalog stream sequence the copy has applied: a copy
	// restored elsewhere resumes the stream at Seq+1.
	Seq       uint64
	AppliedAt time.Time // when that message was applied; zero when never
	Documents uint64
	Schema    string // the index's layout (Schema)
}

// indexMetaFile is the file in which Bleve keeps the index's type and
// storage; its online copy writes it from the live file, as done here.
const indexMetaFile = "index_meta.json"

// Checkpoint writes a consistent copy of the index and its bookkeeping to
// dir, a directory that must not exist yet, in the layout Open reads: a
// search instance opened on dir serves what this one served when the copy
// began, and resumes the stream after the Seq it returns.
//
// The copy uses Bleve's online backup (a reader that pins the segments of
// the current index snapshot), not the live files, so indexing goes on
// while it runs; writes wait only while the copy's starting point is
// taken.
func (s *Service) Checkpoint(dir string) (Checkpoint, error) {
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, fmt.Errorf("search: checkpoint to %s: the directory exists", dir)
	}
	copyable, ok := s.advanced().(index.CopyIndex)
	if !ok {
		return Checkpoint{}, errors.New("search: the index cannot be copied online")
	}
	// The index copy, the bookkeeping and the sequence are taken together,
	// between two batches.
	s.writeMu.Lock()
	reader := copyable.CopyReader()
	tx, err := s.state.db.Begin(false)
	cp := Checkpoint{Seq: s.lastApplied.Load(), Schema: schemaVersion}
	if at := s.lastAppliedAt.Load(); at != 0 {
		cp.AppliedAt = time.Unix(0, at).UTC()
	}
	s.writeMu.Unlock()
	if reader == nil {
		if err == nil {
			_ = tx.Rollback()
		}
		return Checkpoint{}, errors.New("search: the index is closed")
	}
	defer func() { _ = reader.CloseCopyReader() }()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("search: checkpoint bookkeeping: %w", err)
	}
	// The bookkeeping first, and its read transaction ended at once: a
	// long one would hold up a write that needs the file to grow.
	indexDir := filepath.Join(dir, indexDirName)
	err = os.MkdirAll(indexDir, 0o750)
	if err == nil {
		err = tx.CopyFile(filepath.Join(dir, stateFileName), 0o600)
	}
	_ = tx.Rollback()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("search: checkpoint bookkeeping: %w", err)
	}
	if err := reader.CopyTo(bleve.FileSystemDirectory(indexDir)); err != nil {
		return Checkpoint{}, fmt.Errorf("search: copy index: %w", err)
	}
	if err := copyFile(filepath.Join(s.path, indexMetaFile), filepath.Join(indexDir, indexMetaFile)); err != nil {
		return Checkpoint{}, fmt.Errorf("search: copy index: %w", err)
	}
	if cp.Documents, err = reader.DocCount(); err != nil {
		return Checkpoint{}, fmt.Errorf("search: count documents: %w", err)
	}
	return cp, nil
}

// advanced returns the index implementation under Bleve's API.
func (s *Service) advanced() index.Index {
	i, err := s.index.Advanced()
	if err != nil {
		return nil
	}
	return i
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

// Adopt moves the index and bookkeeping that Checkpoint wrote in from into
// dir, where Open looks for them, replacing what is there. The index
// directory moves last: until it is in place, Open finds no index and
// starts empty, so a crash half-way never leaves a mixed index.
func Adopt(from, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("search: adopt: %w", err)
	}
	target := filepath.Join(dir, indexDirName)
	if err := os.RemoveAll(target); err != nil {
		return fmt.Errorf("search: adopt: %w", err)
	}
	if err := os.Rename(filepath.Join(from, stateFileName), filepath.Join(dir, stateFileName)); err != nil {
		return fmt.Errorf("search: adopt: %w", err)
	}
	if err := os.Rename(filepath.Join(from, indexDirName), target); err != nil {
		return fmt.Errorf("search: adopt: %w", err)
	}
	return nil
}

// HasIndex reports whether dir holds an index for Open to open.
func HasIndex(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, indexDirName, indexMetaFile))
	return err == nil
}
