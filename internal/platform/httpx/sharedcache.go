package httpx

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SurrogateKeyHeader names what a public answer shows (a product, a
// category, a family of answers such as listings), so that an edge cache
// can drop every answer a change touches at once. It is the header
// varnish-modules' xkey reads; the edge strips it from what it sends on
// (deploy/varnish/default.vcl). Its canonical form, for assigning a value
// list to a header map.
const SurrogateKeyHeader = "Xkey"

// SharedCache says what shared caches (the edge) may do with public
// answers. The zero value says nothing beyond what browsers are told: no
// s-maxage and no surrogate keys.
type SharedCache struct {
	// MaxAge is the s-maxage of public answers: how long the edge may keep
	// one, in whole seconds (under a second: none). Catalog events purge the edge's copies by key within
	// milliseconds, so this only bounds the staleness of a purge that
	// never arrives.
	MaxAge time.Duration
}

// PublicCache is the caching of one kind of public answer, its header
// values made once: the Cache-Control browsers get, the one with
// s-maxage for the edge, and the surrogate keys of the kind (families
// such as "listings").
type PublicCache struct {
	browser, shared, keys []string
	edge                  bool // shared has an s-maxage
}

// Public returns the caching of answers whose Cache-Control for browsers
// is cacheControl, carrying the surrogate keys keys (none: an answer
// names its own, see PublicCache.Set).
func (s SharedCache) Public(cacheControl string, keys ...string) PublicCache {
	pc := PublicCache{browser: HeaderValue(cacheControl)}
	if s.MaxAge < time.Second {
		return pc
	}
	pc.edge = true
	pc.shared = HeaderValue(cacheControl + ", s-maxage=" + strconv.FormatInt(int64(s.MaxAge.Round(time.Second)/time.Second), 10))
	if len(keys) > 0 {
		pc.keys = SurrogateKeys(keys...)
	}
	return pc
}

// SurrogateKeys returns keys as a value list of SurrogateKeyHeader, to
// share between answers.
func SurrogateKeys(keys ...string) []string { return HeaderValue(strings.Join(keys, " ")) }

// Set sets the surrogate keys of an answer to r on h, the kind's and then
// own (a list from SurrogateKeys, or nil), and returns the Cache-Control
// value list to send. Only anonymous requests get the edge's: an answer
// to a request with Authorization is never the edge's to keep, and the
// edge never sees its keys.
func (pc *PublicCache) Set(h http.Header, r *http.Request, own []string) []string {
	if !pc.edge || len(r.Header["Authorization"]) > 0 {
		return pc.browser
	}
	switch {
	case own == nil:
		if pc.keys != nil {
			h[SurrogateKeyHeader] = pc.keys
		}
	case pc.keys == nil:
		h[SurrogateKeyHeader] = own
	default:
		h[SurrogateKeyHeader] = []string{pc.keys[0], own[0]}
	}
	return pc.shared
}
