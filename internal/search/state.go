package search

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// stateStore keeps per-product bookkeeping (last version, tombstones
// included, and popularity totals) beside the index, in its own bbolt
// file. Bleve's internal key-value storage is copied into every index
// snapshot, so 100,000 entries there made each batch slower than the last;
// here a batch writes only the keys it changed.
//
// It is written right after the index batch it belongs to. A crash in
// between leaves it one batch behind the index, which is harmless: events
// before the index's last applied sequence are not replayed, and the ones
// after it are newer than anything recorded.
type stateStore struct{ db *bolt.DB }

var stateBucket = []byte("state")

func openState(path string, fresh bool) (*stateStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 3 * time.Second, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("search: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if fresh && tx.Bucket(stateBucket) != nil {
			// A new index starts from an empty state.
			if err := tx.DeleteBucket(stateBucket); err != nil {
				return err
			}
		}
		_, err := tx.CreateBucketIfNotExists(stateBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("search: prepare %s: %w", path, err)
	}
	return &stateStore{db: db}, nil
}

// get returns the value of key, nil when absent.
func (s *stateStore) get(key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(stateBucket).Get([]byte(key)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

// put writes every entry of kv in one transaction.
func (s *stateStore) put(kv map[string][]byte) error {
	if len(kv) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(stateBucket)
		for k, v := range kv {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *stateStore) close() error { return s.db.Close() }
