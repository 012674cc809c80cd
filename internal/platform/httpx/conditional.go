package httpx

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// ETagOf returns a strong entity tag for body: a hash of its bytes,
// optionally prefixed (for example by a version).
func ETagOf(prefix string, body []byte) string {
	sum := sha256.Sum256(body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:12])
	if prefix != "" {
		tag = prefix + "." + tag
	}
	return `"` + tag + `"`
}

// NoneMatch reports whether an If-None-Match header matches etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func NoneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, tag := range strings.Split(header, ",") {
		if withoutEncoding(strings.TrimPrefix(strings.TrimSpace(tag), "W/")) == want {
			return true
		}
	}
	return false
}

// withoutEncoding removes the suffix that response compression adds to an
// entity tag ("abc-gzip" is the gzip representation of "abc"): the
// identity and compressed bodies are equal for revalidation.
func withoutEncoding(tag string) string {
	for _, suffix := range []string{`-gzip"`, `-zstd"`} {
		if strings.HasSuffix(tag, suffix) {
			return strings.TrimSuffix(tag, suffix) + `"`
		}
	}
	return tag
}

// WriteRepresentation writes a JSON body with its ETag and Cache-Control,
// or 304 Not Modified when the client already holds it.
func WriteRepresentation(w http.ResponseWriter, r *http.Request, status int, body []byte, etag, cacheControl string) {
	h := w.Header()
	h.Set("ETag", etag)
	if cacheControl != "" {
		h.Set("Cache-Control", cacheControl)
	}
	if status == http.StatusOK && (r.Method == http.MethodGet || r.Method == http.MethodHead) && NoneMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	WriteRawJSON(w, status, body)
}
