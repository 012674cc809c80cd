package producthttp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/product"
)

// expected turns If-Match into the versions a write expects. A product's
// entity tags look like "<version>.<hash>": the version decides, so a
// change of counters alone (sales, views) does not fail a write.
func expected(r *http.Request) product.Expected {
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

// mergePatch applies an RFC 7386 JSON merge patch to a product's writable
// fields, decoding the result as strictly as a request body.
func mergePatch(cur product.Input, patch []byte) (product.Input, error) {
	doc, err := json.Marshal(cur)
	if err != nil {
		return product.Input{}, err
	}
	merged, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return product.Input{}, &errs.Error{Kind: errs.KindInvalid, Msg: "the merge patch is not valid", Err: err,
			Fields: []errs.FieldError{{Detail: "the body must be a JSON object (RFC 7386 merge patch)"}}}
	}
	var in product.Input
	if err := httpx.Unmarshal(merged, &in); err != nil {
		return product.Input{}, err
	}
	return in, nil
}
