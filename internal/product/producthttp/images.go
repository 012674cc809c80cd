package producthttp

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// imageCache is what a CDN needs to keep a picture for good: the content
// at a hash never changes.
var imageCacheHeader = httpx.HeaderValue("public, max-age=31536000, immutable")

const (
	// multipartOverhead is the room a form takes beside the picture:
	// boundaries, part headers and the alt text.
	multipartOverhead = 64 << 10
	maxAltBytes       = 4 * product.MaxAltLen
)

// Raw bodies an upload accepts; the content decides what the picture is.
var rawImageTypes = []string{"image/jpeg", "image/png", "application/octet-stream"}

func uploadImage(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, alt, err := readUpload(w, r)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		p, err := svc.AddImage(r.Context(), r.PathValue("id"), ifMatch(r), data, alt)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rc.wrote(r.Context(), p.ID)
		w.Header().Set("Location", p.Images[len(p.Images)-1].URL)
		writeProduct(w, r, http.StatusCreated, p, privateCache)
	})
}

// readUpload returns the picture and its alt text from a multipart form
// (fields image and alt) or a raw body (alt in the query).
func readUpload(w http.ResponseWriter, r *http.Request) (data []byte, alt string, err error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	switch {
	case mt == "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, product.MaxImageBytes+multipartOverhead)
		data, alt, err = readForm(r)
	case slices.Contains(rawImageTypes, mt):
		alt = r.URL.Query().Get("alt")
		data, err = readAll(http.MaxBytesReader(w, r.Body, product.MaxImageBytes))
	default:
		return nil, "", imageError(errs.KindUnsupportedMedia, "image",
			"must be sent as multipart/form-data (fields image and alt) or as a raw image/jpeg or image/png body")
	}
	if err != nil {
		return nil, "", err
	}
	if len(data) == 0 {
		return nil, "", imageError(errs.KindInvalid, "image", "is required: a JPEG or PNG picture")
	}
	if fault := httpx.TextFault(alt); fault != "" {
		return nil, "", imageError(errs.KindInvalid, "alt", fault)
	}
	return data, alt, nil
}

func readForm(r *http.Request) (data []byte, alt string, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", imageError(errs.KindInvalid, "image", "the multipart form cannot be read: "+err.Error())
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return data, alt, nil
		}
		if err != nil {
			return nil, "", formError(err)
		}
		name := part.FormName()
		if seen[name] {
			return nil, "", imageError(errs.KindInvalid, name, "is given more than once")
		}
		seen[name] = true
		switch name {
		case "image":
			data, err = readAll(part)
		case "alt":
			var b []byte
			b, err = readAll(io.LimitReader(part, maxAltBytes+1))
			if len(b) > maxAltBytes {
				return nil, "", imageError(errs.KindInvalid, "alt", "is too long")
			}
			alt = string(b)
		default:
			return nil, "", imageError(errs.KindInvalid, name, "is not a field of an upload (image, alt)")
		}
		if err != nil {
			return nil, "", err
		}
	}
}

func formError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLargeError()
	}
	return imageError(errs.KindInvalid, "image", "the multipart form cannot be read: "+err.Error())
}

func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(r)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, tooLargeError()
	}
	if err != nil {
		return nil, errs.Wrap(errs.KindInvalid, err, "the body could not be read")
	}
	return data, nil
}

func tooLargeError() error {
	return imageError(errs.KindTooLarge, "image", "must be at most 20 MiB")
}

func imageError(kind errs.Kind, field, detail string) error {
	return &errs.Error{Kind: kind, Msg: "the upload was not accepted", Fields: []errs.FieldError{{Field: field, Detail: detail}}}
}

// imageOrder is the body of a reorder.
type imageOrder struct {
	Order []string `json:"order"`
}

func reorderImages(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in imageOrder
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		p, err := svc.ReorderImages(r.Context(), r.PathValue("id"), ifMatch(r), in.Order)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rc.wrote(r.Context(), p.ID)
		writeProduct(w, r, http.StatusOK, p, privateCache)
	})
}

func deleteImage(svc *product.Service, rc *ReadCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := svc.RemoveImage(r.Context(), r.PathValue("id"), ifMatch(r), r.PathValue("hash"))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		rc.wrote(r.Context(), p.ID)
		writeProduct(w, r, http.StatusOK, p, privateCache)
	})
}

// serveImage serves a picture's file from the blob store.
func serveImage(svc *product.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hash, file := r.PathValue("hash"), r.PathValue("file")
		blob, err := svc.OpenImage(r.Context(), hash, file)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		defer blob.Close()
		h := w.Header()
		h.Set("Content-Type", blob.ContentType())
		h["Cache-Control"] = imageCacheHeader
		h.Set("ETag", `"`+hash+"-"+file+`"`)
		// Never a document, whatever a browser makes of the bytes.
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		http.ServeContent(w, r, "", blob.ModTime(), blob)
	})
}
