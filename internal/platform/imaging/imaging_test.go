package imaging_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/imaging"
)

func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestProcessMakesEveryVariantWithinItsBox(t *testing.T) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(2000, 1000), nil); err != nil {
		t.Fatal(err)
	}
	res, err := imaging.Process(b.Bytes(), imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if res.ContentType != imaging.JPEG || res.Width != 2000 || res.Height != 1000 {
		t.Fatalf("original = %s %d×%d, want image/jpeg 2000×1000", res.ContentType, res.Width, res.Height)
	}
	want := map[string][2]int{"thumbnail": {160, 80}, "card": {480, 240}, "full": {1600, 800}}
	for name, size := range want {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(res.Variants[name]))
		if err != nil || format != "jpeg" || cfg.Width != size[0] || cfg.Height != size[1] {
			t.Errorf("%s = %s %d×%d (%v), want jpeg %d×%d", name, format, cfg.Width, cfg.Height, err, size[0], size[1])
		}
	}
}

func TestProcessNeverEnlarges(t *testing.T) {
	res, err := imaging.Process(encodePNG(t, picture(100, 300)), imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"card", "full"} {
		cfg, _, _ := image.DecodeConfig(bytes.NewReader(res.Variants[name]))
		if cfg.Width != 100 || cfg.Height != 300 {
			t.Errorf("%s = %d×%d, want the original 100×300", name, cfg.Width, cfg.Height)
		}
	}
	// The same size is the same file, made once.
	if !bytes.Equal(res.Variants["card"], res.Variants["full"]) {
		t.Error("the card and full sizes of a picture that fits both differ")
	}
	cfg, _, _ := image.DecodeConfig(bytes.NewReader(res.Variants["thumbnail"]))
	if cfg.Width != 53 || cfg.Height != 160 {
		t.Errorf("thumbnail = %d×%d, want 53×160", cfg.Width, cfg.Height)
	}
}

// bomb is a valid PNG header claiming w×h pixels, with no pixel data: a
// decoder that allocated before checking would ask for w×h×4 bytes.
func bomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestProcessRefuses(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"a decompression bomb", bomb(50_000, 50_000), imaging.ErrTooLarge},
		{"a picture too long on one side", bomb(20_000, 10), imaging.ErrTooLarge},
		{"a GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), imaging.ErrUnsupported},
		{"HTML, whatever it is called", []byte("<html><script>alert(1)</script></html>"), imaging.ErrUnsupported},
		{"a truncated PNG", encodePNG(t, picture(64, 64))[:100], imaging.ErrUndecodable},
		{"a PNG signature and nothing else", []byte("\x89PNG\r\n\x1a\n"), imaging.ErrUndecodable},
		{"a zero-sized PNG", bomb(0, 0), imaging.ErrUndecodable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := imaging.Process(c.data, imaging.DefaultLimits)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzProcess: whatever the bytes, Process returns a picture or one of
// its errors; it never panics, and never decodes past its budget.
func FuzzProcess(f *testing.F) {
	var j bytes.Buffer
	jpeg.Encode(&j, picture(20, 10), nil)
	f.Add(j.Bytes())
	f.Add(encodePNG(f, picture(10, 20)))
	f.Add(bomb(50_000, 50_000))
	f.Add([]byte("GIF89a"))
	small := imaging.Limits{MaxPixels: 64 * 64, MaxSide: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := imaging.Process(data, small)
		if err != nil {
			if !errors.Is(err, imaging.ErrUnsupported) && !errors.Is(err, imaging.ErrTooLarge) && !errors.Is(err, imaging.ErrUndecodable) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if res.Width*res.Height > small.MaxPixels || len(res.Variants) != len(imaging.Variants) {
			t.Fatalf("accepted %d×%d with %d sizes", res.Width, res.Height, len(res.Variants))
		}
	})
}
