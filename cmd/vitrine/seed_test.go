package main

import (
	"bytes"
	"image"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/platform/blobstore/s3test"
)

// TestSeededCatalogHasPictures: "vitrine seed" then "vitrine serve" with
// the same places shows every product with pictures drawn for it, served
// as uploads are, in three sizes at URLs a CDN may keep for good; with
// --blob-url, from an S3-compatible store, as in the cluster.
func TestSeededCatalogHasPictures(t *testing.T) {
	for _, store := range []string{"data directory", "S3"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--data-dir", dir}
			if store == "S3" {
				srv := s3test.Start(t)
				srv.CreateBucket(t, "vitrine-images")
				args = append(args, "--blob-url", srv.BlobURL("vitrine-images"))
			}
			runCommand(t, nil, append([]string{"seed", "--products", "20", "--seed", "7"}, args...)...)
			c := &catalog{server: startServer(t, nil, args...), dataDir: dir}

			var list struct {
				Items []productImagesJSON `json:"items"`
			}
			expect(t, c.get("/api/products?limit=3", ""), 200).JSON(t, &list)
			if len(list.Items) == 0 {
				t.Fatal("the seeded catalog lists no product")
			}
			for _, item := range list.Items {
				p := c.productImages(t, item.ID)
				if len(p.Images) != 1 || item.Thumbnail != p.Images[0].Thumbnail {
					t.Fatalf("product %s lists with %q and has images %+v, want its drawn picture", item.ID, item.Thumbnail, p.Images)
				}
				for _, img := range p.Images {
					for path, size := range map[string]image.Point{img.Thumbnail: {160, 120}, img.Card: {480, 360}, img.URL: {480, 360}} {
						r := expect(t, c.fetch(t, path, nil), 200)
						cfg, format, err := image.DecodeConfig(bytes.NewReader(r.Body))
						if err != nil || format != "jpeg" || cfg.Width != size.X || cfg.Height != size.Y {
							t.Errorf("%s: %s %d×%d (%v), want a %d×%d JPEG", path, format, cfg.Width, cfg.Height, err, size.X, size.Y)
						}
						if r.Header.Get("Content-Type") != "image/jpeg" || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
							t.Errorf("%s: headers %v", path, r.Header)
						}
					}
				}
			}
		})
	}
}
