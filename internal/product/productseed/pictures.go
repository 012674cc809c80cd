package productseed

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/vitrine-dev/vitrine/internal/product"
)

// PictureStore keeps pictures as the catalog keeps uploads: the product
// service's StoreImage, which makes their sizes and stores them under
// their content's hash.
type PictureStore interface {
	StoreImage(ctx context.Context, data []byte) (hash string, err error)
}

// pictureKey names a drawn picture: a category's, with initials.
type pictureKey struct {
	category, initials string
}

// Products are written in batches of batchSize, and made at most
// lookahead ahead of the writer.
const (
	batchSize = 1000
	lookahead = 20 * batchSize
)

// seeding makes a catalog with three kinds of goroutine at once: one
// generates the products, workers draw and store the pictures they need
// (each the first time a product needs it), and the caller writes the
// products whose pictures are stored.
//
// Products share pictures: a picture depends only on the category and the
// initials, and brands share first letters, so a category has at most
// about 22 pictures, and 100,000 products need about 1,140. But they are
// needed at the start: the first thousand products need half of them. So
// products are written as their pictures come, not in the order they were
// made, and drawing and writing share the cores from the start instead of
// taking turns.
type seeding struct {
	store  PictureStore    // nil: products get no pictures
	leaves map[string]leaf // by category slug
	batch  int             // products written at once
	ahead  int             // products made and not written, at most
	// makePicture draws and stores a picture, returning its hash.
	makePicture func(context.Context, pictureKey) (string, error)

	mu      sync.Mutex
	changed *sync.Cond                  // signalled on the changes the others wait for
	hashes  map[pictureKey]string       // pictures stored
	wanted  map[pictureKey][]*unwritten // pictures queued or being made, and the products waiting for them
	queue   []pictureKey                // pictures no worker has taken yet
	waiting []*unwritten                // made, not written
	ready   int                         // of waiting, those whose pictures are stored
	made    bool                        // every product is made
	err     error                       // the first failure; everything stops
}

// unwritten is a product made and not written yet.
type unwritten struct {
	p       *product.Product
	missing int // pictures not stored yet
}

func newSeeding(store PictureStore, leaves []leaf) *seeding {
	s := &seeding{store: store, leaves: map[string]leaf{}, batch: batchSize, ahead: lookahead,
		hashes: map[pictureKey]string{}, wanted: map[pictureKey][]*unwritten{}}
	s.changed = sync.NewCond(&s.mu)
	s.makePicture = s.makeOne
	for _, lf := range leaves {
		s.leaves[lf.slug] = lf
	}
	return s
}

// run makes n products from g and hands them to write in batches, each
// product with its pictures.
func (s *seeding) run(ctx context.Context, g *Generator, n int, write func([]*product.Product) error) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.generate(ctx, g, n) })
	if s.store != nil {
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() { s.draw(ctx) })
		}
	}
	err := s.write(write)
	s.fail(err) // stops the others, if it failed
	wg.Wait()
	return err
}

// fail records the first error and wakes everyone to stop.
func (s *seeding) fail(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	s.changed.Broadcast()
}

// generate makes the products, queueing the pictures they need.
func (s *seeding) generate(ctx context.Context, g *Generator, n int) {
	for i := range n {
		p := g.Product(i)
		s.mu.Lock()
		for len(s.waiting) >= s.ahead && s.err == nil {
			s.changed.Wait()
		}
		if s.err != nil {
			s.mu.Unlock()
			return
		}
		u := &unwritten{p: p}
		s.waiting = append(s.waiting, u)
		queued := false
		for _, key := range s.keys(p) {
			if _, ok := s.hashes[key]; ok {
				continue
			}
			u.missing++
			if _, ok := s.wanted[key]; !ok {
				s.queue = append(s.queue, key)
				queued = true
			}
			s.wanted[key] = append(s.wanted[key], u)
		}
		if u.missing == 0 {
			s.ready++
		}
		if queued || s.ready == s.batch {
			s.changed.Broadcast()
		}
		s.mu.Unlock()
		if i%s.batch == 0 && ctx.Err() != nil {
			s.fail(ctx.Err())
			return
		}
	}
	s.mu.Lock()
	s.made = true
	s.changed.Broadcast()
	s.mu.Unlock()
}

// draw makes and stores queued pictures until no more can be wanted.
func (s *seeding) draw(ctx context.Context) {
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.made && s.err == nil {
			s.changed.Wait()
		}
		if len(s.queue) == 0 || s.err != nil {
			s.mu.Unlock()
			return
		}
		key := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()

		hash, err := s.makePicture(ctx, key)
		if err != nil {
			s.fail(err)
			return
		}
		s.mu.Lock()
		s.hashes[key] = hash
		for _, u := range s.wanted[key] {
			if u.missing--; u.missing == 0 {
				s.ready++
			}
		}
		delete(s.wanted, key)
		s.changed.Broadcast()
		s.mu.Unlock()
	}
}

// write hands batches of products whose pictures are stored to write,
// until every product is written.
func (s *seeding) write(write func([]*product.Product) error) error {
	for {
		batch, err := s.nextBatch()
		if err != nil || batch == nil {
			return err
		}
		if err := write(batch); err != nil {
			return err
		}
	}
}

// nextBatch waits for a full batch of products ready to write (or the
// last ones) and takes it off the waiting list, giving each its pictures;
// nil when every product has been taken.
func (s *seeding) nextBatch() ([]*product.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.err == nil && s.ready < s.batch && !(s.made && len(s.wanted) == 0) {
		s.changed.Wait()
	}
	if s.err != nil || len(s.waiting) == 0 {
		return nil, s.err
	}
	var batch []*product.Product
	rest := s.waiting[:0]
	for _, u := range s.waiting {
		if len(batch) < s.batch && u.missing == 0 {
			s.attach(u.p)
			batch = append(batch, u.p)
		} else {
			rest = append(rest, u)
		}
	}
	clear(s.waiting[len(rest):])
	s.waiting = rest
	s.ready -= len(batch)
	s.changed.Broadcast()
	return batch, nil
}

// attach sets p's picture. The caller holds mu.
func (s *seeding) attach(p *product.Product) {
	if s.store == nil {
		return
	}
	p.Images = []product.Image{product.UploadedImage(s.hashes[s.keys(p)[0]], p.Name)}
	p.Derive()
}

// keys are the pictures p shows.
func (s *seeding) keys(p *product.Product) []pictureKey {
	if s.store == nil {
		return nil
	}
	return []pictureKey{{category: p.Category, initials: initials(p.Brand, s.leaves[p.Category].kind)}}
}

func (s *seeding) makeOne(ctx context.Context, key pictureKey) (string, error) {
	data, err := encodeJPEG(productPicture(s.leaves[key.category].style, key.initials))
	if err != nil {
		return "", err
	}
	hash, err := s.store.StoreImage(ctx, data)
	if err != nil {
		return "", fmt.Errorf("store the picture of %s %s: %w", key.category, key.initials, err)
	}
	return hash, nil
}

// initials are a product's brand and kind, as two capitals: "AH" for an
// Atlas headphone.
func initials(brand, kind string) string {
	return strings.ToUpper(brand[:1] + kind[:1])
}
