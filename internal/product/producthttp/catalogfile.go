package producthttp

import (
	"mime"
	"net/http"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product/catalogio"
)

// Media types of catalog files.
const (
	ndjsonType = "application/x-ndjson"
	csvType    = "text/csv"
)

// CatalogFileRoutes registers bulk import and export, for admins: an
// import is received onto disk and runs as a job whose status is read
// at its Location; an export streams the catalog from pages (from a
// replica where there is one).
func CatalogFileRoutes(rt *httpx.Router, jobs *catalogio.Jobs, pages catalogio.Pager) {
	admin := func(h http.Handler) http.Handler { return authn.Require(h, authn.RoleAdmin) }
	rt.Handle("POST /api/products/import", admin(startImport(jobs)))
	rt.Handle("GET /api/products/import/jobs/{id}", admin(importStatus(jobs)))
	rt.Handle("GET /api/products/export", admin(exportCatalog(pages)))
}

// formatOf is the format a request names: ?format=, else its Content-Type.
func formatOf(r *http.Request, fallback string) string {
	if f := r.URL.Query().Get("format"); f != "" {
		return f
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case csvType:
		return catalogio.CSV
	case ndjsonType, "application/jsonl", "application/json-seq":
		return catalogio.NDJSON
	}
	return fallback
}

func startImport(jobs *catalogio.Jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := formatOf(r, "")
		if format == "" {
			httpx.WriteError(w, r, &errs.Error{Kind: errs.KindUnsupportedMedia, Msg: "say the file's format",
				Fields: []errs.FieldError{{Field: "format", Detail: "send Content-Type application/x-ndjson or text/csv, or ?format=ndjson|csv"}}})
			return
		}
		// A large file takes longer to send than the server gives a
		// request body; the size limit bounds it instead.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		job, err := jobs.Start(r.Context(), http.MaxBytesReader(w, r.Body, catalogio.MaxImportBytes), format)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/products/import/jobs/"+job.ID)
		httpx.WriteJSON(w, http.StatusAccepted, job)
	})
}

func importStatus(jobs *catalogio.Jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job, err := jobs.Job(r.Context(), r.PathValue("id"))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", privateCache)
		httpx.WriteJSON(w, http.StatusOK, job)
	})
}

func exportCatalog(pages catalogio.Pager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := formatOf(r, catalogio.NDJSON)
		ctype, ext := ndjsonType, "ndjson"
		switch format {
		case catalogio.NDJSON:
		case catalogio.CSV:
			ctype, ext = csvType+"; charset=utf-8", "csv"
		default:
			httpx.WriteError(w, r, &errs.Error{Kind: errs.KindInvalid, Msg: "unknown format",
				Fields: []errs.FieldError{{Field: "format", Detail: "must be ndjson or csv"}}})
			return
		}
		opt := catalogio.ExportOptions{ImageBase: r.URL.Query().Get("image_base_url")}
		if err := opt.Check(); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="catalog.`+ext+`"`)
		w.Header().Set("Cache-Control", privateCache)
		if _, err := catalogio.Export(r.Context(), pages, flushing{w}, format, opt); err != nil {
			// The status is sent: a cut body is how the client learns.
			panic(http.ErrAbortHandler)
		}
	})
}

// flushing sends what is written at once, so an export streams.
type flushing struct{ w http.ResponseWriter }

func (f flushing) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
	}
	return n, err
}
