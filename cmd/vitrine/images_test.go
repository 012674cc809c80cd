package main

import (
	"bytes"
	binenc "encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/blobstore/s3test"
)

type imageJSON struct {
	URL       string `json:"url"`
	Alt       string `json:"alt"`
	Hash      string `json:"hash"`
	Card      string `json:"card"`
	Thumbnail string `json:"thumbnail"`
	Original  string `json:"original"`
}

type productImagesJSON struct {
	ID        string      `json:"id"`
	Version   int64       `json:"version"`
	Thumbnail string      `json:"thumbnail"`
	Images    []imageJSON `json:"images"`
}

func testPicture(w, h int, shade uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), shade, 255})
		}
	}
	return img
}

func pngBytes(t testing.TB, w, h int, shade uint8) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testPicture(w, h, shade)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, w, h int, shade uint8) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testPicture(w, h, shade), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngBomb is a PNG header claiming w×h pixels and no pixel data.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := []byte("IHDR\x00\x00\x00\x00\x00\x00\x00\x00\x08\x06\x00\x00\x00")
	binenc.BigEndian.PutUint32(chunk[4:], w)
	binenc.BigEndian.PutUint32(chunk[8:], h)
	_ = binenc.Write(&b, binenc.BigEndian, uint32(13))
	b.Write(chunk)
	_ = binenc.Write(&b, binenc.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// form is a multipart upload of data as field image (named filename),
// with alt text when alt is not empty.
func form(t testing.TB, filename string, data []byte, alt string) (body []byte, contentType string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if alt != "" {
		if err := mw.WriteField("alt", alt); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("image", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func (c *catalog) upload(t testing.TB, id string, data []byte, alt string) *response {
	t.Helper()
	body, ct := form(t, "picture.png", data, alt)
	return c.do(call{Method: "POST", Path: "/api/products/" + id + "/images", Token: c.admin, ContentType: ct, Body: body})
}

func (c *catalog) productImages(t testing.TB, id string) productImagesJSON {
	t.Helper()
	var p productImagesJSON
	expect(t, c.get("/api/products/"+id, c.admin), 200).JSON(t, &p)
	return p
}

// fetch GETs a picture URL as a browser or a CDN would.
func (c *catalog) fetch(t testing.TB, path string, header map[string]string) *response {
	t.Helper()
	return c.do(call{Method: "GET", Path: path, Header: header})
}

// TestProductImages: an admin uploads pictures to a product; they are
// served in three sizes at stable URLs a CDN may keep for good, listed on
// the product with their alt text, shown as the thumbnail in listings and
// search, reordered and removed; pictures no product holds any more are
// deleted, and one two products share stays while one holds it.
func TestProductImages(t *testing.T) {
	c := startCatalog(t)
	kettle := c.createProduct(t, productBody("Copper kettle", "KET-1", 4900, map[string]any{
		"images": []any{map[string]any{"url": "https://cdn.example/kettle.jpg", "alt": "linked"}},
	}))

	r := expect(t, c.upload(t, kettle.ID, pngBytes(t, 2000, 1000, 10), "A copper kettle on a stove"), 201)
	var p productImagesJSON
	r.JSON(t, &p)
	if len(p.Images) != 2 || p.Images[0].URL != "https://cdn.example/kettle.jpg" {
		t.Fatalf("images after the upload: %+v, want the linked one then the upload", p.Images)
	}
	up := p.Images[1]
	if len(up.Hash) != 64 || up.Alt != "A copper kettle on a stove" || r.Header.Get("Location") != up.URL ||
		up.Thumbnail != "/images/"+up.Hash+"/thumbnail.jpg" || up.Card != "/images/"+up.Hash+"/card.jpg" ||
		up.URL != "/images/"+up.Hash+"/full.jpg" || up.Original != "/images/"+up.Hash+"/original" {
		t.Fatalf("uploaded image %+v (Location %s)", up, r.Header.Get("Location"))
	}

	// Every size is a JPEG that fits its box; the original is as sent.
	for path, box := range map[string]int{up.Thumbnail: 160, up.Card: 480, up.URL: 1600} {
		r := expect(t, c.fetch(t, path, nil), 200)
		cfg, format, err := image.DecodeConfig(bytes.NewReader(r.Body))
		if err != nil || format != "jpeg" || cfg.Width != box || cfg.Height != box/2 {
			t.Errorf("%s: %s %d×%d (%v), want jpeg %d×%d", path, format, cfg.Width, cfg.Height, err, box, box/2)
		}
		if r.Header.Get("Content-Type") != "image/jpeg" || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			r.Header.Get("ETag") == "" {
			t.Errorf("%s: headers %v", path, r.Header)
		}
		// A cache revalidating gets a 304 without the body.
		again := c.fetch(t, path, map[string]string{"If-None-Match": r.Header.Get("ETag")})
		if again.Status != http.StatusNotModified || len(again.Body) != 0 {
			t.Errorf("%s with If-None-Match: %d, %d bytes; want 304 and none", path, again.Status, len(again.Body))
		}
	}
	orig := expect(t, c.fetch(t, up.Original, nil), 200)
	if orig.Header.Get("Content-Type") != "image/png" || !bytes.Equal(orig.Body, pngBytes(t, 2000, 1000, 10)) {
		t.Fatalf("original: %s, %d bytes", orig.Header.Get("Content-Type"), len(orig.Body))
	}
	part := c.fetch(t, up.Original, map[string]string{"Range": "bytes=0-7", "Accept-Encoding": "gzip, zstd"})
	if part.Status != http.StatusPartialContent || string(part.Body) != "\x89PNG\r\n\x1a\n" {
		t.Fatalf("a range of the original: %d, %q", part.Status, part.Body)
	}
	c.fetch(t, "/images/"+up.Hash+"/huge.jpg", nil).expectProblem(t, 404)
	c.fetch(t, "/images/..%2F..%2Fproduct.db/original", nil).expectProblem(t, 404)
	c.fetch(t, "/images/"+strings.Repeat("0", 64)+"/full.jpg", nil).expectProblem(t, 404)

	// A raw JPEG body, alt in the query; the Content-Type says PNG, the
	// content decides.
	raw := jpegBytes(t, 300, 600, 200)
	r = expect(t, c.do(call{Method: "POST", Path: "/api/products/" + kettle.ID + "/images?alt=" + url.QueryEscape("From above"),
		Token: c.admin, ContentType: "image/png", Body: raw}), 201)
	p = productImagesJSON{}
	r.JSON(t, &p)
	second := p.Images[2]
	if second.Alt != "From above" {
		t.Fatalf("second upload: %+v", second)
	}
	if ct := expect(t, c.fetch(t, second.Original, nil), 200).Header.Get("Content-Type"); ct != "image/jpeg" {
		t.Fatalf("the original of a JPEG sent as PNG is served as %s", ct)
	}

	// Reordered: uploaded pictures by hash, a linked one by its URL. The
	// listing's thumbnail follows the first image.
	r = expect(t, c.do(call{Method: "PUT", Path: "/api/products/" + kettle.ID + "/images", Token: c.admin,
		Body: map[string]any{"order": []string{second.Hash, up.Hash, "https://cdn.example/kettle.jpg"}}}), 200)
	p = productImagesJSON{}
	r.JSON(t, &p)
	if p.Images[0].Hash != second.Hash || p.Images[2].Hash != "" || p.Thumbnail != second.Thumbnail {
		t.Fatalf("after the reorder: %+v", p)
	}
	c.do(call{Method: "PUT", Path: "/api/products/" + kettle.ID + "/images", Token: c.admin,
		Body: map[string]any{"order": []string{second.Hash, second.Hash, up.Hash}}}).expectField(t, 400, "order[1]")
	c.do(call{Method: "PUT", Path: "/api/products/" + kettle.ID + "/images", Token: c.admin,
		Body: map[string]any{"order": []string{up.Hash}}}).expectField(t, 400, "order")

	var list struct {
		Items []struct {
			ID        string `json:"id"`
			Thumbnail string `json:"thumbnail"`
		} `json:"items"`
	}
	expect(t, c.get("/api/products", ""), 200).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Thumbnail != second.Thumbnail {
		t.Fatalf("listing: %+v, want the thumbnail %s", list.Items, second.Thumbnail)
	}
	eventually(t, 10*time.Second, "the search result's thumbnail", func() bool {
		var res struct {
			Items []struct {
				Thumbnail string `json:"thumbnail"`
			} `json:"items"`
		}
		expect(t, c.get("/api/search?q=kettle", ""), 200).JSON(t, &res)
		return len(res.Items) == 1 && res.Items[0].Thumbnail == second.Thumbnail
	})

	// A second product shares the first picture (by hash, through PUT);
	// the first product lets go of it, and it stays.
	teapot := c.createProduct(t, productBody("Teapot", "TEA-1", 2900, map[string]any{
		"images": []any{map[string]any{"hash": up.Hash, "alt": "the same stove"}},
	}))
	shared := c.productImages(t, teapot.ID)
	if shared.Images[0].Thumbnail != up.Thumbnail || shared.Thumbnail != up.Thumbnail {
		t.Fatalf("a product naming an uploaded picture by hash: %+v", shared)
	}
	c.do(call{Method: "POST", Path: "/api/products", Token: c.admin, Body: productBody("Ghost", "GHO-1", 100, map[string]any{
		"images": []any{map[string]any{"hash": strings.Repeat("a", 64)}},
	})}).expectField(t, 400, "images[0].hash")
	expect(t, c.do(call{Method: "DELETE", Path: "/api/products/" + kettle.ID + "/images/" + up.Hash, Token: c.admin}), 200)
	c.do(call{Method: "DELETE", Path: "/api/products/" + kettle.ID + "/images/" + up.Hash, Token: c.admin}).expectProblem(t, 404)
	time.Sleep(300 * time.Millisecond) // the sweeper had its chance
	expect(t, c.fetch(t, up.Thumbnail, nil), 200)

	// Deleting the kettle deletes its remaining picture, through the event
	// stream; deleting the teapot, the shared one. No file is left.
	expect(t, c.do(call{Method: "DELETE", Path: "/api/products/" + kettle.ID, Token: c.admin}), 204)
	eventually(t, 10*time.Second, "the kettle's picture deleted", func() bool { return c.fetch(t, second.Thumbnail, nil).Status == 404 })
	expect(t, c.fetch(t, up.Thumbnail, nil), 200)
	expect(t, c.do(call{Method: "DELETE", Path: "/api/products/" + teapot.ID, Token: c.admin}), 204)
	eventually(t, 10*time.Second, "the shared picture deleted", func() bool { return c.fetch(t, up.Original, nil).Status == 404 })
	eventually(t, 10*time.Second, "no file left", func() bool {
		var files []string
		filepath.WalkDir(filepath.Join(c.dataDir, "blobs"), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return nil
		})
		return len(files) == 0
	})
}

// TestImageUploadsRefused: what an upload refuses, each with a problem
// naming the field, and nothing stored.
func TestImageUploadsRefused(t *testing.T) {
	c := startCatalog(t)
	p := c.createProduct(t, productBody("Lamp", "LAMP-1", 1500, nil))
	path := "/api/products/" + p.ID + "/images"
	post := func(ct string, body []byte, token string) *response {
		return c.do(call{Method: "POST", Path: path, Token: token, ContentType: ct, Body: body})
	}
	picture := pngBytes(t, 64, 64, 1)

	post("image/png", picture, "").expectProblem(t, 401)
	post("image/png", picture, c.customer).expectProblem(t, 403)
	c.do(call{Method: "POST", Path: "/api/products/0190b6a0-0000-7000-8000-000000000000/images", Token: c.admin,
		ContentType: "image/png", Body: picture}).expectProblem(t, 404)

	post("application/json", []byte(`{"image":"x"}`), c.admin).expectField(t, 415, "image")
	post("image/png", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), c.admin).expectField(t, 415, "image")
	post("image/png", []byte("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"), c.admin).expectField(t, 415, "image")
	post("image/png", pngBomb(60_000, 60_000), c.admin).expectField(t, 422, "image")
	post("image/png", picture[:len(picture)/2], c.admin).expectField(t, 422, "image")
	post("image/png", nil, c.admin).expectField(t, 400, "image")
	big := append(bytes.Clone(picture), make([]byte, 21<<20)...)
	post("image/png", big, c.admin).expectField(t, 413, "image")
	body, ct := form(t, "big.png", big, "")
	post(ct, body, c.admin).expectField(t, 413, "image")

	body, ct = form(t, "a.png", picture, strings.Repeat("é", 301))
	post(ct, body, c.admin).expectField(t, 400, "alt")
	body, ct = form(t, "a.png", picture, "line\x00break")
	post(ct, body, c.admin).expectField(t, 400, "alt")
	var extra bytes.Buffer
	mw := multipart.NewWriter(&extra)
	mw.WriteField("colour", "red")
	mw.Close()
	post(mw.FormDataContentType(), extra.Bytes(), c.admin).expectField(t, 400, "colour")

	// The same picture twice on one product is a conflict.
	expect(t, c.upload(t, p.ID, picture, "once"), 201)
	c.upload(t, p.ID, picture, "twice").expectField(t, 409, "image")

	if got := c.productImages(t, p.ID); len(got.Images) != 1 {
		t.Fatalf("after the refused uploads the product has %d images, want 1", len(got.Images))
	}
	if entries, _ := os.ReadDir(filepath.Join(c.dataDir, "blobs", "images")); len(entries) != 1 {
		t.Fatalf("%d pictures stored, want the one accepted", len(entries))
	}
}

// TestProductImagesOnS3: with --blob-url, pictures go to an S3-compatible
// store (a real one, started for the test) and are deleted from it with
// their product.
func TestProductImagesOnS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "vitrine-images")
	c := startCatalog(t, "--blob-url", srv.BlobURL("vitrine-images"))
	p := c.createProduct(t, productBody("Mug", "MUG-1", 900, nil))
	// A noisy picture of several MiB: larger than any JSON body may be,
	// it is streamed to the handler, not cut.
	noisy := image.NewNRGBA(image.Rect(0, 0, 1200, 1200))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noisy.Pix {
		noisy.Pix[i] = uint8(rng.Uint32())
	}
	var big bytes.Buffer
	png.Encode(&big, noisy)
	if big.Len() < 4<<20 {
		t.Fatalf("the noisy picture is %d bytes, want several MiB", big.Len())
	}
	var got productImagesJSON
	expect(t, c.upload(t, p.ID, big.Bytes(), "A mug"), 201).JSON(t, &got)
	img := got.Images[0]
	if orig := expect(t, c.fetch(t, img.Original, nil), 200); !bytes.Equal(orig.Body, big.Bytes()) {
		t.Fatalf("the original came back as %d bytes, want the %d sent", len(orig.Body), big.Len())
	}
	thumb := expect(t, c.fetch(t, img.Thumbnail, nil), 200)
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(thumb.Body)); err != nil || cfg.Width != 160 {
		t.Fatalf("thumbnail from S3: %d wide (%v)", cfg.Width, err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "blobs")); !os.IsNotExist(err) {
		t.Fatalf("pictures went to the data directory too (%v)", err)
	}

	// The store is down when the product is deleted: its pictures cannot
	// be, and nothing is lost; the event is redelivered until they are.
	srv.Stop()
	expect(t, c.do(call{Method: "DELETE", Path: "/api/products/" + p.ID, Token: c.admin}), 204)
	c.fetch(t, img.Original, nil).expectProblem(t, 503)
	eventually(t, 10*time.Second, "a failed deletion, to be redelivered", func() bool {
		log := c.stderr.String()
		return strings.Contains(log, "will redeliver") && strings.Contains(log, "images: delete "+img.Hash)
	})
	srv.Restart()
	eventually(t, 15*time.Second, "every file of the picture deleted from S3 once it is back", func() bool {
		for _, file := range []string{img.Original, img.Thumbnail, img.Card, img.URL} {
			if c.fetch(t, file, nil).Status != 404 {
				return false
			}
		}
		return true
	})
}
