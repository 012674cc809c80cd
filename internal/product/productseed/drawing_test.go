package productseed

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/imaging"
)

func drawn(t *testing.T, img image.Image) []byte {
	t.Helper()
	data, err := encodeJPEG(img)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPictureDrawing: a product's picture is a 4:3 JPEG the upload
// pipeline takes as it is, the same bytes every time it is drawn, and
// another for another category or other initials.
func TestPictureDrawing(t *testing.T) {
	all := leaves()
	headphones, sofas := all[0], all[len(all)/2]
	if headphones.style == sofas.style {
		t.Fatalf("%s and %s look the same: %+v", headphones.slug, sofas.slug, headphones.style)
	}
	pic := productPicture(headphones.style, "AH")
	if b := pic.Bounds(); b.Dx() != 480 || b.Dy() != 360 {
		t.Fatalf("the picture is %v, want 480×360", b)
	}
	data := drawn(t, pic)
	if again := drawn(t, productPicture(headphones.style, "AH")); !bytes.Equal(data, again) {
		t.Fatal("the same picture drawn twice gave other bytes")
	}
	seen := map[[32]byte]string{sha256.Sum256(data): "AH " + headphones.slug}
	for what, other := range map[string][]byte{
		"AH " + sofas.slug:      drawn(t, productPicture(sofas.style, "AH")),
		"NH " + headphones.slug: drawn(t, productPicture(headphones.style, "NH")),
	} {
		sum := sha256.Sum256(other)
		if seen[sum] != "" {
			t.Errorf("the pictures of %s and %s are the same", seen[sum], what)
		}
		seen[sum] = what
	}

	// The letters are there, white on the shape, their edges smooth.
	var white, between int
	shape := pic.RGBAAt(240, 180-80)
	for y := 180 - 30; y < 180+30; y++ {
		for x := 240 - 60; x < 240+60; x++ {
			switch c := pic.RGBAAt(x, y); {
			case c == color.RGBA{255, 255, 255, 255}:
				white++
			case c != shape:
				between++
			}
		}
	}
	if white < 1000 || between < 100 {
		t.Errorf("the initials' middle has %d white pixels and %d at their edges, want letters, anti-aliased", white, between)
	}

	res, err := imaging.Process(data, imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]image.Point{"thumbnail": {160, 120}, "card": {480, 360}, "full": {480, 360}} {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(res.Variants[name]))
		if err != nil || cfg.Width != want.X || cfg.Height != want.Y {
			t.Errorf("%s: %d×%d (%v), want %v", name, cfg.Width, cfg.Height, err, want)
		}
	}
}
