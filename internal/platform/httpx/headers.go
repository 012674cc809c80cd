package httpx

import "net/http"

// Headers on the hot path are set by assigning a value list to the
// header's canonical key: http.Header.Set allocates a list for every
// value (and a canonical key when the one given is not). Fixed values are
// lists built once and shared by every response; a shared list has no
// spare capacity (len == cap), so adding a value to it copies it instead
// of writing into the shared array. Nothing may write into an element of
// a header's value list in place.

// HeaderValue returns a value list for a header, to share between
// responses.
func HeaderValue(v string) []string { return []string{v}[:1:1] }

var (
	headerNosniff    = HeaderValue("nosniff")
	headerDeny       = HeaderValue("DENY")
	headerNoReferrer = HeaderValue("no-referrer")
	headerCSP        = HeaderValue("default-src 'none'; frame-ancestors 'none'")
	headerJSON       = HeaderValue("application/json")
	headerVaryAE     = HeaderValue("Accept-Encoding")
	headerVaryAuth   = HeaderValue("Authorization")
	headerVaryAEAuth = []string{"Accept-Encoding", "Authorization"}[:2:2]
)

// AddVary adds field to the Vary header. The common lists (Accept-Encoding
// from compression, then the field) are shared, not built per response.
func AddVary(h http.Header, field string) {
	v := h["Vary"]
	switch {
	case field == "Authorization" && len(v) == 0:
		h["Vary"] = headerVaryAuth
	case field == "Authorization" && len(v) == 1 && v[0] == "Accept-Encoding":
		h["Vary"] = headerVaryAEAuth
	default:
		h.Add("Vary", field)
	}
}
