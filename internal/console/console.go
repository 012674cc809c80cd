// Package console serves the storefront and the admin console at "/": plain
// HTML, CSS and JavaScript modules embedded in the binary, so that
// "vitrine serve" shows them with no build step. The page talks to the
// public HTTP API like any other client.
//
// The page is served with no-cache, so a new release is seen at once; the
// assets live under /assets/VERSION/, VERSION being a hash of their
// contents, so they are cached for a year and never revalidated. Modules
// import each other by relative paths and so stay within one version.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy lets the page load only its own scripts, styles and
// data: no inline script or style, no other origin. Product images are the
// exception: a shop keeps them where it likes (its own /images or a CDN over
// https), and an image cannot run anything.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' https:; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

var (
	headerCSP       = httpx.HeaderValue(ContentSecurityPolicy)
	headerNoCache   = httpx.HeaderValue("no-cache")
	headerImmutable = httpx.HeaderValue("public, max-age=31536000, immutable")
	headerHTML      = httpx.HeaderValue("text/html; charset=utf-8")
)

// Patterns are the routes the console adds, which are not part of the API.
var Patterns = []string{"GET /{$}", "GET /assets/{version}/{file...}"}

// Routes serves the page at "/" and its assets under /assets/. Nothing
// else: every other path stays the API's, and an unknown one is the
// router's 404 problem, not a page.
func Routes(rt *httpx.Router) {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	version := contentVersion(assets)
	page, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		panic(err)
	}
	page = bytes.ReplaceAll(page, []byte("{{assets}}"), []byte("/assets/"+version))

	rt.Handle(Patterns[0], servePage(page))
	rt.Handle(Patterns[1], serveAssets(assets, version))
}

func servePage(page []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = headerCSP
		h["Cache-Control"] = headerNoCache
		h["Content-Type"] = headerHTML
		w.Write(page)
	})
}

func serveAssets(assets fs.FS, version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		// An asset of another version is not this one under an old name:
		// a stale page asking for it gets a 404, not a year-long cached
		// mismatch.
		if r.PathValue("version") != version || name == "index.html" || !fs.ValidPath(name) {
			httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusNotFound, Detail: "no asset " + r.URL.Path})
			return
		}
		body, err := fs.ReadFile(assets, name)
		if err != nil {
			httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusNotFound, Detail: "no asset " + r.URL.Path})
			return
		}
		h := w.Header()
		h["Content-Security-Policy"] = headerCSP
		h["Cache-Control"] = headerImmutable
		h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
		w.Write(body)
	})
}

// contentVersion is a short hash of every asset's name and contents.
func contentVersion(assets fs.FS) string {
	sum := sha256.New()
	fs.WalkDir(assets, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(assets, name)
		if err != nil {
			return err
		}
		sum.Write([]byte(name + "\x00"))
		sum.Write(body)
		return nil
	})
	return hex.EncodeToString(sum.Sum(nil))[:12]
}
