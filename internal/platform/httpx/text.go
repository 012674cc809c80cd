package httpx

import (
	"net/http"
	"net/url"
	"regexp"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// What a client sends is decoded from percent escapes and JSON escapes into
// arbitrary bytes, and PostgreSQL refuses text that is not UTF-8 or holds a
// NUL: such input would otherwise end as a 500, or as text silently
// altered (U+FFFD) on its way to SQLite. It is refused at the edge instead,
// once for every handler, naming where it was.

// TextFault says what is wrong with s as a short identifier or search text
// (a query parameter, a path segment, a header kept in a store), or ""
// when nothing is: it must be UTF-8 without control characters, which no
// such value needs.
func TextFault(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0:
			return "must not contain a NUL character"
		case c < 0x20 || c == 0x7f:
			return "must not contain control characters"
		case c < utf8.RuneSelf:
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return "must be UTF-8 text"
		}
		i += n
	}
	return ""
}

// TextQuery refuses a request whose query parameters, names or values,
// are not UTF-8 text free of control characters, with a 400 naming the
// parameter. Malformed escapes are left to the handler's own parsing.
func TextQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if plainQuery(r.URL.RawQuery) {
			next.ServeHTTP(w, r)
			return
		}
		values, _ := url.ParseQuery(r.URL.RawQuery)
		var v errs.Validation
		for name, list := range values {
			if fault := TextFault(name); fault != "" {
				v.Add("query", "a parameter name %s", fault)
				continue
			}
			for _, value := range list {
				if fault := TextFault(value); fault != "" {
					v.Add(name, "%s", fault)
					break
				}
			}
		}
		if err := v.Err(); err != nil {
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// plainQuery reports whether a raw query string decodes to text without
// a fault, without decoding it: no percent escape, and nothing but
// printable ASCII (a '+' decodes to a space, which is text).
func plainQuery(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '%' {
			return false
		}
	}
	return true
}

var wildcard = regexp.MustCompile(`\{([^{}.]+)(?:\.\.\.)?\}`)

// textPathValues wraps h, served for pattern, so that the decoded value of
// each of the pattern's wildcards must be text too (400 naming the
// wildcard otherwise).
func textPathValues(pattern string, h http.Handler) http.Handler {
	var names []string
	for _, m := range wildcard.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v errs.Validation
		for _, name := range names {
			if fault := TextFault(r.PathValue(name)); fault != "" {
				v.Add(name, "%s", fault)
			}
		}
		if err := v.Err(); err != nil {
			WriteError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}
