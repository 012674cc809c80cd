// Package imaging turns an uploaded picture into the sizes a catalog shows.
// It trusts nothing about its input: the type is sniffed from the bytes,
// and the dimensions are read from the header and checked against a pixel
// budget before a single pixel is decoded, so a small file that claims to
// be a huge picture (a decompression bomb) costs nothing.
package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"

	"golang.org/x/image/draw"
)

// Limits bound what Process accepts.
type Limits struct {
	MaxPixels int // width × height of the original
	MaxSide   int // the longer side of the original
}

// DefaultLimits accept a picture of a modern camera (24 megapixels) and
// decode it in about 100 MB of memory.
var DefaultLimits = Limits{MaxPixels: 25_000_000, MaxSide: 10_000}

// Variant is one size a picture is served in: it fits a Box×Box square,
// keeping its proportions, and is never enlarged.
type Variant struct {
	Name string
	Box  int
}

// Variants are the sizes every upload is made into, from the smallest.
var Variants = []Variant{
	{Name: "thumbnail", Box: 160},
	{Name: "card", Box: 480},
	{Name: "full", Box: 1600},
}

// Types accepted, as sniffed from the content.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
)

// Errors of Process; each says what the client did wrong.
var (
	ErrUnsupported = errors.New("imaging: only JPEG and PNG pictures are accepted")
	ErrTooLarge    = errors.New("imaging: the picture has too many pixels")
	ErrUndecodable = errors.New("imaging: the picture cannot be decoded")
)

// Result is a processed picture: the original's facts and one JPEG per
// variant, by variant name.
type Result struct {
	ContentType   string // of the original, JPEG or PNG
	Width, Height int
	Variants      map[string][]byte
}

// Sniff returns the type of data as read from its first bytes, or
// ErrUnsupported when it is neither JPEG nor PNG (whatever it is called).
func Sniff(data []byte) (string, error) {
	switch t := http.DetectContentType(data); t {
	case JPEG, PNG:
		return t, nil
	default:
		return "", fmt.Errorf("%w (the content is %s)", ErrUnsupported, t)
	}
}

// Process checks data against limits, decodes it and renders every variant.
func Process(data []byte, limits Limits) (*Result, error) {
	contentType, err := Sniff(data)
	if err != nil {
		return nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	if "image/"+format != contentType {
		return nil, fmt.Errorf("%w: a %s header in a %s file", ErrUndecodable, format, contentType)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: it is %d×%d pixels", ErrUndecodable, cfg.Width, cfg.Height)
	}
	if cfg.Width > limits.MaxSide || cfg.Height > limits.MaxSide || cfg.Width*cfg.Height > limits.MaxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, more than %d on a side or %d in all",
			ErrTooLarge, cfg.Width, cfg.Height, limits.MaxSide, limits.MaxPixels)
	}
	src, err := decode(data, contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	res := &Result{ContentType: contentType, Width: cfg.Width, Height: cfg.Height, Variants: map[string][]byte{}}
	// From the largest size down, each made from the one before: a
	// smaller size made from a larger one looks the same as one made from
	// the original, and costs a fraction (the kernel's work grows with the
	// pixels it reads).
	// A small picture fits several boxes at its own size: the file made
	// for the larger box serves the smaller ones.
	from, out := src, []byte(nil)
	for i := len(Variants) - 1; i >= 0; i-- {
		v := Variants[i]
		w, h := fit(cfg.Width, cfg.Height, v.Box)
		if b := from.Bounds(); out == nil || w != b.Dx() || h != b.Dy() {
			img := scale(from, w, h)
			if out, err = encode(img); err != nil {
				return nil, err
			}
			from = img
		}
		res.Variants[v.Name] = out
	}
	return res, nil
}

func decode(data []byte, contentType string) (image.Image, error) {
	if contentType == PNG {
		return png.Decode(bytes.NewReader(data))
	}
	return jpeg.Decode(bytes.NewReader(data))
}

// scale makes src w×h pixels on white, as JPEG has no alpha and a
// catalog's pages are light.
func scale(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	if w == b.Dx() && h == b.Dy() {
		// A picture that already fits is copied: resampling it at its own
		// size would give the same pixels, slowly.
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Over)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	}
	return dst
}

func encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fit returns w×h scaled down to fit box×box, keeping the proportions; a
// picture already smaller keeps its size.
func fit(w, h, box int) (int, int) {
	if w <= box && h <= box {
		return w, h
	}
	if w >= h {
		return box, max(1, h*box/w)
	}
	return max(1, w*box/h), box
}
