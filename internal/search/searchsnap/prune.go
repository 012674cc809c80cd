package searchsnap

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
)

// orphanAge is how old an object named by no manifest must be before
// Prune deletes it: younger, it may be an upload still under way.
const orphanAge = time.Hour

// Prune keeps the keep newest snapshots and deletes the others, manifest
// first (so no manifest ever names a deleted object for long), then
// object. It also deletes objects left without a manifest by an upload
// cut short, once they are older than an hour.
func (s *Store) Prune(ctx context.Context, keep int, now time.Time) error {
	keep = max(keep, 1)
	manifests, err := s.blobs.List(ctx, s.manifestPrefix())
	if err != nil {
		return err
	}
	slices.SortFunc(manifests, func(a, b blobstore.Object) int { return strings.Compare(b.Key, a.Key) })
	named := map[string]bool{}
	var errs []error
	for i, o := range manifests {
		m, readErr := s.readManifest(ctx, o.Key)
		if i < keep {
			if readErr == nil {
				named[m.Object] = true
			}
			continue
		}
		if err := s.blobs.Delete(ctx, o.Key); err != nil {
			errs = append(errs, err)
			continue
		}
		if readErr == nil {
			errs = append(errs, s.blobs.Delete(ctx, m.Object))
		}
	}
	objects, err := s.blobs.List(ctx, s.objectPrefix())
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, o := range objects {
		if !named[o.Key] && now.Sub(o.ModTime) > orphanAge {
			errs = append(errs, s.blobs.Delete(ctx, o.Key))
		}
	}
	return errors.Join(errs...)
}
