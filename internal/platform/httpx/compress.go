package httpx

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// CompressMinSize is the smallest response body Compress compresses.
const CompressMinSize = 1400

// compressTypes are the content types Compress compresses: the API's, and
// the console's page and assets (sent once per release to each browser,
// which caches them, so compressing them as they go costs little).
var compressTypes = []string{"application/json", "application/problem+json",
	"text/html", "text/css", "text/javascript", "image/svg+xml"}

// Compress returns the compression layer, for the outside of the chain:
// a response of a compressible type (JSON, problems, the console's text) of at least
// CompressMinSize bytes is sent gzip- or zstd-encoded to a client that
// accepts it (zstd when the client likes both equally), its entity tag
// suffixed "-gzip" or "-zstd" (two encodings are two representations),
// and every response carries Vary: Accept-Encoding.
//
// Dynamic responses are compressed by gzhttp as they are written. A
// Representation carries its compressed bodies, made once, and sends the
// one the client accepts through this layer as it is.
func Compress() (Middleware, error) {
	gz, err := gzhttp.NewWrapper(gzhttp.MinSize(CompressMinSize), gzhttp.SuffixETag("-gzip"),
		gzhttp.ContentTypes(compressTypes))
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		compressed := gz(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if negotiate(r) == encodingNone {
				// gzhttp would only add Vary (and wrap w to filter its
				// No-Gzip-Compression header, which no handler here sets).
				h := w.Header()
				if len(h["Vary"]) == 0 {
					h["Vary"] = headerVaryAE
				} else {
					h.Add("Vary", "Accept-Encoding")
				}
				next.ServeHTTP(w, r)
				return
			}
			compressed.ServeHTTP(w, r)
		})
	}, nil
}

type encoding int

const (
	encodingNone encoding = iota
	encodingGzip
	encodingZstd
)

var (
	headerGzip = HeaderValue("gzip")
	headerZstd = HeaderValue("zstd")
)

// negotiate chooses the encoding as gzhttp does (NewWrapper's defaults:
// gzip and zstd, zstd preferred, no wildcard): none for HEAD, else the
// accepted one with the higher q-value.
func negotiate(r *http.Request) encoding {
	if r.Method == http.MethodHead {
		return encodingNone
	}
	var ae string
	if v := r.Header["Accept-Encoding"]; len(v) > 0 {
		ae = v[0]
	}
	if ae == "" {
		return encodingNone
	}
	gzipQ, zstdQ := qValue(ae, "gzip"), qValue(ae, "zstd")
	switch {
	case gzipQ <= 0 && zstdQ <= 0:
		return encodingNone
	case zstdQ <= 0:
		return encodingGzip
	case gzipQ <= 0:
		return encodingZstd
	case gzipQ > zstdQ:
		return encodingGzip
	}
	return encodingZstd
}

// qValue is the q-value an Accept-Encoding header gives enc (0 when it
// does not name it), read as gzhttp reads it.
func qValue(header, enc string) float64 {
	for part := range strings.SplitSeq(strings.TrimSpace(header), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), enc) {
			continue
		}
		q := 1.0
		if params == "" {
			return q
		}
		for p := range strings.SplitSeq(params, ";") {
			p = strings.TrimSpace(p)
			if len(p) >= 2 && strings.EqualFold(p[:2], "q=") {
				q, _ = strconv.ParseFloat(p[2:], 64)
				q = min(max(q, 0), 1)
			}
		}
		return q
	}
	return 0
}

// compressing reports whether w goes through Compress's gzhttp writer,
// which it does when the client accepts an encoding.
func compressing(w http.ResponseWriter) bool {
	for range 16 {
		switch x := w.(type) {
		case *gzhttp.GzipResponseWriter, gzhttp.GzipResponseWriterWithCloseNotify:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return false
		}
	}
	return false
}

// Representation is a response body made once and sent many times (a
// cached read): its entity tag, length and compressed variants are
// computed once, not per request, and its headers are value lists shared
// by every response that sends it.
type Representation struct {
	Body []byte
	ETag string

	etag, length []string
	gzip, zstd   atomic.Pointer[variant] // made when first asked for
}

type variant struct {
	body                   []byte
	etag, length, encoding []string
}

// NewRepresentation returns the representation of body with entity tag
// etag.
func NewRepresentation(body []byte, etag string) *Representation {
	return &Representation{Body: body, ETag: etag,
		etag: HeaderValue(etag), length: HeaderValue(strconv.Itoa(len(body)))}
}

// Write sends the representation as a JSON 200 with its ETag and
// Cache-Control (a list from HeaderValue; nil: none), or 304 Not Modified
// when the client already holds it, as WriteRepresentation does. Through
// Compress, a client that accepts gzip or zstd gets the compressed body
// made for it the first time it was asked for.
func (rep *Representation) Write(w http.ResponseWriter, r *http.Request, cacheControl []string) {
	h := w.Header()
	h["Etag"] = rep.etag
	if cacheControl != nil {
		h["Cache-Control"] = cacheControl
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && NoneMatch(r.Header.Get("If-None-Match"), rep.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body, length := rep.Body, rep.length
	if len(rep.Body) >= CompressMinSize && compressing(w) {
		if v := rep.variant(negotiate(r)); v != nil {
			body, length = v.body, v.length
			h["Etag"] = v.etag
			h["Content-Encoding"] = v.encoding
		}
	}
	h["Content-Type"] = headerJSON
	h["Content-Length"] = length
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// variant returns the body encoded with enc, making it the first time.
func (rep *Representation) variant(enc encoding) *variant {
	var slot *atomic.Pointer[variant]
	switch enc {
	case encodingGzip:
		slot = &rep.gzip
	case encodingZstd:
		slot = &rep.zstd
	default:
		return nil
	}
	if v := slot.Load(); v != nil {
		return v
	}
	v := encodeVariant(rep.Body, rep.ETag, enc)
	if v == nil {
		return nil
	}
	// Two requests may both make it: either copy is the same.
	slot.CompareAndSwap(nil, v)
	return slot.Load()
}

// zstdEncoder encodes whole bodies at once (EncodeAll is safe for
// concurrent use), with the settings of gzhttp's zstd writer.
var zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
	zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(128<<10))

func encodeVariant(body []byte, etag string, enc encoding) *variant {
	var (
		out      []byte
		suffix   string
		encoding []string
	)
	switch enc {
	case encodingGzip:
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if err != nil {
			return nil
		}
		if _, err := zw.Write(body); err != nil || zw.Close() != nil {
			return nil
		}
		out, suffix, encoding = buf.Bytes(), "-gzip", headerGzip
	case encodingZstd:
		if zstdEncoder == nil {
			return nil
		}
		out, suffix, encoding = zstdEncoder.EncodeAll(body, make([]byte, 0, len(body)/2)), "-zstd", headerZstd
	default:
		return nil
	}
	return &variant{body: out, etag: HeaderValue(suffixETag(etag, suffix)),
		length: HeaderValue(strconv.Itoa(len(out))), encoding: encoding}
}

// suffixETag inserts suffix before the closing quote of etag, as gzhttp
// does: "abc" becomes "abc-gzip".
func suffixETag(etag, suffix string) string {
	i := strings.LastIndex(etag, `"`)
	if i < 0 {
		i = len(etag)
	}
	return etag[:i] + suffix + etag[i:]
}
