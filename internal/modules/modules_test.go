package modules_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/api"
	"github.com/vitrine-dev/vitrine/internal/console"
	"github.com/vitrine-dev/vitrine/internal/modules"
)

// newApp starts every service in one process, on embedded storage.
func newApp(t *testing.T) *modules.App {
	t.Helper()
	app, err := modules.New(context.Background(), testConfig(t, modules.AllTargets()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}

// testConfig is the default configuration with targets, on embedded
// storage of the test's own, logging nothing.
func testConfig(t *testing.T, targets ...string) modules.Config {
	cfg := modules.DefaultConfig()
	cfg.Targets, cfg.Store.DataDir = targets, t.TempDir()
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// openAPIDoc is the part of api/openapi.json these tests read.
type openAPIDoc struct {
	Paths map[string]map[string]struct {
		// Security lists the alternatives a caller may satisfy; none at
		// all ([]), or an empty one ({}), lets in a caller without credentials.
		Security []map[string][]string `json:"security"`
	} `json:"paths"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOpenAPIListsEveryRoute: each route the server registers is in the
// OpenAPI document under the same path, parameter names included, and the
// document lists no route the server lacks.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	app, doc := newApp(t), loadOpenAPI(t)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, pattern := range app.Router.Patterns() {
		registered[pattern] = true
		if slices.Contains(console.Patterns, pattern) {
			continue // the console's page and assets, not the API
		}
		if !documented[pattern] {
			t.Errorf("route %q is not in api/openapi.json", pattern)
		}
	}
	for op := range documented {
		if !registered[op] {
			t.Errorf("api/openapi.json documents %q, which the server does not serve", op)
		}
	}
}

// TestOpenAPISecurityIsWhatTheServerAsks: a caller without credentials is
// refused with 401 by exactly the operations whose security the document
// says needs some.
func TestOpenAPISecurityIsWhatTheServerAsks(t *testing.T) {
	app, doc := newApp(t), loadOpenAPI(t)
	anyParam := regexp.MustCompile(`\{[^}]+\}`)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			anonymous := len(op.Security) == 0 || slices.ContainsFunc(op.Security, func(alt map[string][]string) bool { return len(alt) == 0 })
			req := httptest.NewRequest(strings.ToUpper(method), anyParam.ReplaceAllString(path, "x"), nil)
			rec := httptest.NewRecorder()
			app.Handler.ServeHTTP(rec, req)
			if refused := rec.Code == http.StatusUnauthorized; refused == anonymous {
				t.Errorf("%s %s without credentials: status %d, but the document's security is %v",
					strings.ToUpper(method), path, rec.Code, op.Security)
			}
		}
	}
}

func TestParseTargets(t *testing.T) {
	all, err := modules.ParseTargets("all")
	if err != nil || len(all) < 2 {
		t.Fatalf("all: %v %v", all, err)
	}
	got, err := modules.ParseTargets("product, auth,product")
	if err != nil || strings.Join(got, ",") != "product,auth" {
		t.Fatalf("list: %v %v", got, err)
	}
	if _, err := modules.ParseTargets("product,payments"); err == nil {
		t.Fatal("unknown target accepted")
	}
}

// TestTokenCheckingServicesNeedTheAuthService: product and analytics check
// tokens, so without auth in the process they need --auth-url; search does not.
func TestTokenCheckingServicesNeedTheAuthService(t *testing.T) {
	for _, target := range []string{modules.Product, modules.Analytics} {
		_, err := modules.New(context.Background(), testConfig(t, target))
		if err == nil || !strings.Contains(err.Error(), "--auth-url") {
			t.Fatalf("%s without auth: got %v", target, err)
		}
	}
	app, err := modules.New(context.Background(), testConfig(t, modules.Search))
	if err != nil {
		t.Fatalf("search alone: %v", err)
	}
	app.Close()
}
