package productseed

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/product"
)

// quickSeeding is a seeding whose pictures take a moment each, named by
// their key, in small batches: what is tested is the order of the work.
func quickSeeding(fail error) *seeding {
	s := newSeeding(noStore{}, leaves())
	s.batch, s.ahead = 40, 200
	var mu sync.Mutex
	made, rng := 0, rand.New(rand.NewPCG(1, 2))
	s.makePicture = func(ctx context.Context, key pictureKey) (string, error) {
		mu.Lock()
		made++
		n, pause := made, time.Duration(rng.IntN(500))*time.Microsecond
		mu.Unlock()
		if fail != nil && n == 30 {
			return "", fail
		}
		time.Sleep(pause)
		return key.category + "/" + key.initials, nil
	}
	return s
}

type noStore struct{}

func (noStore) StoreImage(context.Context, []byte) (string, error) { panic("not called") }

// TestProductsAreWrittenAsTheirPicturesCome: every product is written
// once, in batches, with its own pictures, while pictures are still being
// made; a failure stops everything and is returned.
func TestProductsAreWrittenAsTheirPicturesCome(t *testing.T) {
	const n = 2000
	s := quickSeeding(nil)
	written := map[string]bool{}
	var batches, early int
	err := s.run(context.Background(), NewGenerator(5), n, func(ps []*product.Product) error {
		batches++
		if len(ps) == 0 || len(ps) > s.batch {
			t.Errorf("a batch of %d products", len(ps))
		}
		s.mu.Lock()
		if !s.made || len(s.wanted) > 0 {
			early++ // written while pictures were being made
		}
		s.mu.Unlock()
		for _, p := range ps {
			if written[p.Slug] {
				t.Errorf("%s written twice", p.Slug)
			}
			written[p.Slug] = true
			want := p.Category + "/" + initials(p.Brand, s.leaves[p.Category].kind)
			if len(p.Images) != 1 || p.Images[0].Hash != want || p.Thumbnail != p.Images[0].Thumbnail {
				t.Fatalf("%s (%s) has images %+v, want %s", p.Name, p.Category, p.Images, want)
			}
		}
		return nil
	})
	if err != nil || len(written) != n {
		t.Fatalf("run: %v, %d products written, want %d", err, len(written), n)
	}
	if early < batches/2 {
		t.Errorf("%d of %d batches were written while pictures were being made: writing waited for drawing", early, batches)
	}

	failed := errors.New("the picture store is down")
	if err := quickSeeding(failed).run(context.Background(), NewGenerator(5), n, func([]*product.Product) error { return nil }); !errors.Is(err, failed) {
		t.Fatalf("with a failing picture store: %v", err)
	}
	refused := errors.New("the database is down")
	if err := quickSeeding(nil).run(context.Background(), NewGenerator(5), n, func([]*product.Product) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("with a failing database: %v", err)
	}
}
