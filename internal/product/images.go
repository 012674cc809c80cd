package product

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/imaging"
)

// Limits on uploaded pictures.
const (
	// MaxImageBytes bounds an upload's body (the original picture).
	MaxImageBytes = 20 << 20
	// StaleUploadAfter is how long a picture whose upload never reached
	// its product is kept before the sweeper deletes it.
	StaleUploadAfter = time.Hour
)

// ImageFile is an uploaded picture as the store records it.
type ImageFile struct {
	Hash          string // SHA-256 of the original, lower-case hex
	ContentType   string // of the original
	Width, Height int
	Bytes         int64
}

// ImageStore is what the store keeps about uploaded pictures; product
// writes (the Store's) record which products hold which pictures.
type ImageStore interface {
	// SaveImage records a picture as pending (or takes a released one
	// back) before its files are written.
	SaveImage(ctx context.Context, f ImageFile) error
	// ReleaseImage marks a picture no product holds as free to delete.
	ReleaseImage(ctx context.Context, hash string) error
	// ImagesToDelete lists released pictures, and pictures whose upload
	// was left unfinished before staleBefore (none when zero).
	ImagesToDelete(ctx context.Context, staleBefore time.Time, limit int) ([]string, error)
	// DeleteImage deletes a picture's record if it is still free to
	// delete, calling removeFiles before that commits; it reports whether
	// it deleted it.
	DeleteImage(ctx context.Context, hash string, staleBefore time.Time, removeFiles func(context.Context) error) (bool, error)
}

// The files of an uploaded picture, by the name in its URL: the original
// as sent, and one JPEG per size.
const OriginalFile = "original"

// ImageFiles are the names of an uploaded picture's files.
var ImageFiles = func() []string {
	files := []string{OriginalFile}
	for _, v := range imaging.Variants {
		files = append(files, v.Name+".jpg")
	}
	return files
}()

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidImageHash reports whether s can name an uploaded picture.
func ValidImageHash(s string) bool { return hashPattern.MatchString(s) }

// ImageKey is where file of picture hash is in the blob store. Both parts
// must have been checked (ValidImageHash, ImageFiles).
func ImageKey(hash, file string) string { return "images/" + hash + "/" + file }

// ImageURL is the path a picture's file is served at: stable, as the
// content at a hash never changes.
func ImageURL(hash, file string) string { return "/images/" + hash + "/" + file }

// UploadedImage is a product's image entry for the uploaded picture hash.
func UploadedImage(hash, alt string) Image {
	return Image{
		Hash: hash, Alt: alt,
		URL:       ImageURL(hash, "full.jpg"),
		Card:      ImageURL(hash, "card.jpg"),
		Thumbnail: ImageURL(hash, "thumbnail.jpg"),
		Original:  ImageURL(hash, OriginalFile),
	}
}

// imageKey is how reordering names an image: an uploaded one by its hash,
// a linked one by its URL.
func imageKey(img Image) string {
	if img.Hash != "" {
		return img.Hash
	}
	return img.URL
}

// uploads is the service's picture handling: where files go, and how many
// pictures may be decoded at once (each may take ~100 MB).
type uploads struct {
	blobs  *blobstore.Store
	limits imaging.Limits
	logger *slog.Logger
	store  ImageStore
	slots  chan struct{}
}

// UseImages lets the service take uploads, keeping their files in blobs.
// The store must implement ImageStore.
func (s *Service) UseImages(blobs *blobstore.Store, logger *slog.Logger) error {
	is, ok := s.store.(ImageStore)
	if !ok {
		return errors.New("product: the store keeps no pictures")
	}
	s.uploads = &uploads{blobs: blobs, limits: imaging.DefaultLimits, logger: logger, store: is, slots: make(chan struct{}, 2)}
	return nil
}

func (s *Service) imagesOrErr() (*uploads, error) {
	if s.uploads == nil {
		return nil, errs.New(errs.KindUnavailable, "this instance stores no pictures")
	}
	return s.uploads, nil
}

// AddImage stores picture data (its sizes made) and appends it to the
// product with alt text. The picture is recorded as pending first (a
// sweep deleting the same picture finishes before, or leaves it alone),
// then its files are written, then the product names it: a product never
// shows a picture that is not there, and one that never reaches its
// product is released, or deleted as stale by the hourly sweep.
func (s *Service) AddImage(ctx context.Context, id string, expected Expected, data []byte, alt string) (*Product, error) {
	im, err := s.imagesOrErr()
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(alt) > MaxAltLen {
		return nil, fieldError(errs.KindInvalid, "alt", fmt.Sprintf("must be at most %d characters", MaxAltLen))
	}
	cur, err := s.current(ctx, id, expected)
	if err != nil {
		return nil, err
	}
	hash := imageHash(data)
	if err := canAdd(cur.Images, hash); err != nil {
		return nil, err
	}
	if err := im.put(ctx, hash, data); err != nil {
		return nil, err
	}
	p, err := s.Update(ctx, id, expected, func(cur Input) (Input, error) {
		if err := canAdd(cur.Images, hash); err != nil {
			return cur, err
		}
		cur.Images = append(slices.Clone(cur.Images), UploadedImage(hash, alt))
		return cur, nil
	})
	if err != nil {
		im.release(hash)
		return nil, err
	}
	return p, nil
}

// StoreImage stores picture data (its sizes made) as AddImage does, for
// products to name by its hash (UploadedImage) when they are written: a
// way to give many products the same picture in one go. A picture no
// product names within StaleUploadAfter is deleted by the sweep.
func (s *Service) StoreImage(ctx context.Context, data []byte) (hash string, err error) {
	im, err := s.imagesOrErr()
	if err != nil {
		return "", err
	}
	hash = imageHash(data)
	return hash, im.put(ctx, hash, data)
}

// imageHash names a picture by its content.
func imageHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// put makes a picture's sizes and stores them: recorded as pending first
// (a sweep deleting the same picture finishes before, or leaves it
// alone), then its files written. A picture whose files cannot be written
// is released for the sweep.
func (im *uploads) put(ctx context.Context, hash string, data []byte) error {
	res, err := im.process(ctx, data)
	if err != nil {
		return err
	}
	file := ImageFile{Hash: hash, ContentType: res.ContentType, Width: res.Width, Height: res.Height, Bytes: int64(len(data))}
	if err := im.store.SaveImage(ctx, file); err != nil {
		return err
	}
	if err := im.putFiles(ctx, hash, data, res); err != nil {
		im.release(hash)
		return err
	}
	return nil
}

// canAdd checks that a picture can join images: there is room, and (with
// a hash) it is not there already.
func canAdd(images []Image, hash string) error {
	if len(images) >= MaxImages {
		return fieldError(errs.KindConflict, "image", fmt.Sprintf("the product already has %d images, the most it may hold", MaxImages))
	}
	if hash != "" && slices.ContainsFunc(images, func(img Image) bool { return img.Hash == hash }) {
		return fieldError(errs.KindConflict, "image", "the product already has this picture")
	}
	return nil
}

// process decodes and resizes data, at most two pictures at once.
func (im *uploads) process(ctx context.Context, data []byte) (*imaging.Result, error) {
	select {
	case im.slots <- struct{}{}:
		defer func() { <-im.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res, err := imaging.Process(data, im.limits)
	switch {
	case errors.Is(err, imaging.ErrUnsupported):
		return nil, fieldError(errs.KindUnsupportedMedia, "image", "must be a JPEG or PNG picture (its content decides, not its name or Content-Type)")
	case errors.Is(err, imaging.ErrTooLarge):
		return nil, fieldError(errs.KindUnprocessable, "image", fmt.Sprintf("must be at most %d pixels, and %d on its longer side",
			im.limits.MaxPixels, im.limits.MaxSide))
	case errors.Is(err, imaging.ErrUndecodable):
		return nil, fieldError(errs.KindUnprocessable, "image", "cannot be decoded: the file is damaged or not a picture")
	}
	return res, err
}

func (im *uploads) putFiles(ctx context.Context, hash string, original []byte, res *imaging.Result) error {
	if err := im.blobs.Put(ctx, ImageKey(hash, OriginalFile), res.ContentType, original); err != nil {
		return err
	}
	for name, data := range res.Variants {
		if err := im.blobs.Put(ctx, ImageKey(hash, name+".jpg"), imaging.JPEG, data); err != nil {
			return err
		}
	}
	return nil
}

// release hands a picture whose upload failed to the sweeper. It runs on
// its own deadline: the request's may be what ended the upload.
func (im *uploads) release(hash string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := im.store.ReleaseImage(ctx, hash); err != nil {
		im.logger.Warn("images: release after a failed upload; the hourly sweep will", "hash", hash, "err", err)
	}
}

// ReorderImages puts a product's images in the order given, each named
// by its key: an uploaded picture's hash, a linked one's URL. The order
// must name every image once.
func (s *Service) ReorderImages(ctx context.Context, id string, expected Expected, order []string) (*Product, error) {
	return s.Update(ctx, id, expected, func(cur Input) (Input, error) {
		if len(order) != len(cur.Images) {
			return cur, fieldError(errs.KindInvalid, "order", fmt.Sprintf("must name each of the product's %d images once", len(cur.Images)))
		}
		images := make([]Image, 0, len(order))
		for i, key := range order {
			at := slices.IndexFunc(cur.Images, func(img Image) bool { return imageKey(img) == key })
			if at < 0 || slices.Contains(order[:i], key) {
				return cur, fieldError(errs.KindInvalid, "order["+strconv.Itoa(i)+"]",
					"must be the hash (or, for a linked image, the URL) of one of the product's images, named once")
			}
			images = append(images, cur.Images[at])
		}
		cur.Images = images
		return cur, nil
	})
}

// RemoveImage takes an uploaded picture off a product. The picture's
// files go when no product holds it any more (the sweeper).
func (s *Service) RemoveImage(ctx context.Context, id string, expected Expected, hash string) (*Product, error) {
	return s.Update(ctx, id, expected, func(cur Input) (Input, error) {
		at := slices.IndexFunc(cur.Images, func(img Image) bool { return img.Hash == hash })
		if at < 0 {
			return cur, errs.New(errs.KindNotFound, "the product has no picture %q", hash)
		}
		cur.Images = slices.Delete(slices.Clone(cur.Images), at, at+1)
		return cur, nil
	})
}

// SweepImages deletes the files, then the records, of pictures no product
// holds: released ones, and (when staleBefore is not zero) uploads left
// unfinished before it. A picture whose files cannot be removed stays for
// the next sweep; the error says so.
func (s *Service) SweepImages(ctx context.Context, staleBefore time.Time) (deleted int, err error) {
	im, err := s.imagesOrErr()
	if err != nil {
		return 0, err
	}
	for {
		hashes, err := im.store.ImagesToDelete(ctx, staleBefore, 100)
		if err != nil || len(hashes) == 0 {
			return deleted, err
		}
		progress := false
		for _, h := range hashes {
			ok, err := im.store.DeleteImage(ctx, h, staleBefore, func(ctx context.Context) error {
				for _, file := range ImageFiles {
					if err := im.blobs.Delete(ctx, ImageKey(h, file)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return deleted, fmt.Errorf("images: delete %s: %w", h, err)
			}
			if ok {
				deleted++
				progress = true
			}
		}
		if !progress {
			return deleted, nil
		}
	}
}

// ImageReader is an open file of a picture: it seeks, so range requests
// are answered from it.
type ImageReader interface {
	io.ReadSeekCloser
	ContentType() string
	ModTime() time.Time
}

// OpenImage opens file of picture hash. Both are checked against their
// only possible forms before they make a key, so no key reaches the store
// that the server did not make.
func (s *Service) OpenImage(ctx context.Context, hash, file string) (ImageReader, error) {
	im, err := s.imagesOrErr()
	if err != nil {
		return nil, err
	}
	if !ValidImageHash(hash) || !slices.Contains(ImageFiles, file) {
		return nil, errs.New(errs.KindNotFound, "no such picture")
	}
	r, err := im.blobs.Open(ctx, ImageKey(hash, file))
	if errors.Is(err, blobstore.ErrNotFound) {
		return nil, errs.New(errs.KindNotFound, "no such picture")
	}
	if err != nil {
		return nil, errs.Wrap(errs.KindUnavailable, err, "the picture store does not answer")
	}
	if ct := r.ContentType(); ct != imaging.JPEG && ct != imaging.PNG {
		r.Close()
		return nil, fmt.Errorf("images: %s holds %q, not a picture", ImageKey(hash, file), ct)
	}
	return r, nil
}

func fieldError(kind errs.Kind, field, detail string) error {
	return &errs.Error{Kind: kind, Msg: "the picture was not accepted: " + field + " " + detail,
		Fields: []errs.FieldError{{Field: field, Detail: detail}}}
}
