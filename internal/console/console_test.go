package console

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

func serve(t *testing.T, rt *httpx.Router, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

// Only the page's files are served, under the page's version: not the page
// itself as an asset, not a path out of the tree, not another version.
func TestAssetsAreThePagesFilesUnderItsVersion(t *testing.T) {
	rt := httpx.NewRouter()
	Routes(rt)
	page := serve(t, rt, "/")
	m := regexp.MustCompile(`/assets/([0-9a-f]{12})/main\.js`).FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatalf("the page names no versioned main.js:\n%s", page.Body)
	}
	version := m[1]
	if strings.Contains(page.Body.String(), "{{assets}}") {
		t.Error("the page still holds its placeholder")
	}
	for path, want := range map[string]int{
		"/assets/" + version + "/main.js":           200,
		"/assets/" + version + "/app.css":           200,
		"/assets/" + version + "/index.html":        404,
		"/assets/" + version + "/%2e%2e/console.go": 404,
		"/assets/" + version + "/../console.go":     307, // the router's redirect to the clean path, /assets/console.go, a 404
		"/assets/" + version + "/no-such-file.js":   404,
		"/assets/0123456789ab/main.js":              404,
	} {
		if got := serve(t, rt, path).Code; got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
}

// The version follows the contents: a changed file is a new address.
func TestVersionFollowsTheContents(t *testing.T) {
	a := fstest.MapFS{"main.js": {Data: []byte("one")}, "app.css": {Data: []byte("x")}}
	b := fstest.MapFS{"main.js": {Data: []byte("two")}, "app.css": {Data: []byte("x")}}
	if contentVersion(a) == contentVersion(b) {
		t.Error("two contents, one version")
	}
	if contentVersion(a) != contentVersion(fstest.MapFS{"app.css": {Data: []byte("x")}, "main.js": {Data: []byte("one")}}) {
		t.Error("one content, two versions")
	}
}
