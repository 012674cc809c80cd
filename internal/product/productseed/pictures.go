package productseed

import (
	"context"
	"fmt"
	"image"
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

// pictureKey names a drawn picture: a category's product picture with
// initials, or its detail picture (no initials).
type pictureKey struct {
	category, initials string
}

// pictures gives products their pictures, drawing each one the first
// time a product needs it. Products share them: a picture depends only on
// the category and the initials, so there are at most a few hundred
// (about 21 initials per category, as brands share first letters), and
// 100,000 products cost the same drawing as a few thousand.
type pictures struct {
	store  PictureStore
	leaves map[string]leaf // by category slug
	hashes map[pictureKey]string
}

func newPictures(store PictureStore, leaves []leaf) *pictures {
	ps := &pictures{store: store, leaves: map[string]leaf{}, hashes: map[pictureKey]string{}}
	for _, lf := range leaves {
		ps.leaves[lf.slug] = lf
	}
	return ps
}

// attach sets each product's images: its own picture, then its category's
// detail. Pictures not made yet are drawn and stored first, on every core.
func (ps *pictures) attach(ctx context.Context, products []*product.Product) error {
	var missing []pictureKey
	for _, p := range products {
		for _, key := range ps.keys(p) {
			if _, ok := ps.hashes[key]; !ok {
				ps.hashes[key] = "" // being made
				missing = append(missing, key)
			}
		}
	}
	if err := ps.make(ctx, missing); err != nil {
		return err
	}
	for _, p := range products {
		keys := ps.keys(p)
		p.Images = []product.Image{
			product.UploadedImage(ps.hashes[keys[0]], p.Name),
			product.UploadedImage(ps.hashes[keys[1]], ps.leaves[p.Category].kind),
		}
		p.Derive()
	}
	return nil
}

func (ps *pictures) keys(p *product.Product) [2]pictureKey {
	return [2]pictureKey{
		{category: p.Category, initials: initials(p.Brand, ps.leaves[p.Category].kind)},
		{category: p.Category},
	}
}

// make draws and stores pictures, as many at once as there are cores.
func (ps *pictures) make(ctx context.Context, keys []pictureKey) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hashes := make([]string, len(keys))
	errs := make([]error, len(keys))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(keys)) {
		wg.Go(func() {
			for i := range next {
				if hashes[i], errs[i] = ps.makeOne(ctx, keys[i]); errs[i] != nil {
					cancel() // the others stop at their next picture
				}
			}
		})
	}
feed:
	for i := range keys {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for i, key := range keys {
		if errs[i] != nil {
			return errs[i]
		}
		ps.hashes[key] = hashes[i]
	}
	return ctx.Err()
}

func (ps *pictures) makeOne(ctx context.Context, key pictureKey) (string, error) {
	lf := ps.leaves[key.category]
	var img image.Image
	if key.initials != "" {
		img = productPicture(lf.style, key.initials)
	} else {
		img = detailPicture(lf.style, lf.kind)
	}
	data, err := encodeJPEG(img)
	if err != nil {
		return "", err
	}
	hash, err := ps.store.StoreImage(ctx, data)
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
