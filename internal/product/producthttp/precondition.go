package producthttp

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/product"
)

// ifMatch turns a write's If-Match header into the versions it expects.
// A product's entity tags look like "<version>.<hash>": the version
// decides, so a change of counters alone (sales, views) does not fail a
// write.
func ifMatch(r *http.Request) product.Expected {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	switch h {
	case "":
		return product.Expected{}
	case "*":
		return product.Expected{Stated: true, Any: true}
	}
	e := product.Expected{Stated: true, Versions: []int64{}}
	for _, tag := range strings.Split(h, ",") {
		if v, ok := versionOfETag(tag); ok {
			e.Versions = append(e.Versions, v)
		}
	}
	return e
}

// versionOfETag extracts the version from an entity tag issued for a product.
func versionOfETag(tag string) (int64, bool) {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
	tag = strings.Trim(tag, `"`)
	num, _, _ := strings.Cut(tag, ".")
	v, err := strconv.ParseInt(num, 10, 64)
	return v, err == nil && v > 0
}
