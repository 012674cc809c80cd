// Package observability holds the Prometheus configuration and rules of
// Vitrine (prometheus.yml, rules/); its test checks that the rules name
// only metrics the app exports.
package observability

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/vitrine-dev/vitrine/internal/modules"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// metricName is a vitrine_ metric in an expression, not the tail of a
// recording rule's name (service:vitrine_...).
var metricName = regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:])(vitrine_[a-zA-Z0-9_]+)`)

// ruleMetrics returns the vitrine_ metrics each rule file's expressions
// use, with the rules that use them.
func ruleMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	for _, name := range []string{"rules/recording.yml", "rules/alerts.yml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var f ruleFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rules := 0
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				rules++
				if r.Expr == "" {
					t.Errorf("%s: rule %s%s has no expression", name, r.Record, r.Alert)
				}
				for _, m := range metricName.FindAllStringSubmatch(r.Expr, -1) {
					used[m[1]] = append(used[m[1]], filepath.Base(name)+": "+r.Record+r.Alert)
				}
			}
		}
		if rules == 0 {
			t.Fatalf("%s: no rules", name)
		}
	}
	return used
}

// exported returns the metric families the app's /metrics lists, by their
// # TYPE lines: a histogram's base name stands for its _bucket, _sum and
// _count series.
func exported(t *testing.T, metrics http.Handler) (names map[string]bool, histograms map[string]bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	names, histograms = map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" {
				histograms[f[2]] = true
			}
		}
	}
	return names, histograms
}

// known says whether name is an exported series name.
func known(name string, names, histograms map[string]bool) bool {
	if names[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && histograms[base] {
			return true
		}
	}
	return false
}

// TestRulesUseExportedMetrics runs every service in one app, serves one
// request so the request metrics exist, and checks each vitrine_ metric
// the rules use against what the app exports.
func TestRulesUseExportedMetrics(t *testing.T) {
	used := ruleMetrics(t)
	for _, want := range []string{"vitrine_http_requests_total", "vitrine_http_request_duration_seconds_bucket", "vitrine_outbox_backlog"} {
		if _, ok := used[want]; !ok {
			t.Errorf("no rule uses %s", want)
		}
	}

	targets, err := modules.ParseTargets(modules.All)
	if err != nil {
		t.Fatal(err)
	}
	app, err := modules.New(context.Background(), modules.Config{
		Targets: targets, DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	rec := httptest.NewRecorder()
	app.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/products", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/products: %d %s", rec.Code, rec.Body)
	}

	// The event consumers start in the background and add their series
	// when they do: look again until every name is there or time is up.
	var missing []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		names, histograms := exported(t, app.Metrics())
		missing = missing[:0]
		for name := range used {
			if !known(name, names, histograms) {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	slices.Sort(missing)
	for _, name := range missing {
		t.Errorf("%s, used by %s, is not a metric the app exports", name, strings.Join(used[name], ", "))
	}
}

func TestMetricNameExtraction(t *testing.T) {
	got := metricName.FindAllStringSubmatch(`sum by (service) (rate(vitrine_http_requests_total{status=~"5.."}[5m])) / service:vitrine_http_error_ratio:rate5m + vitrine_x_bucket`, -1)
	var names []string
	for _, m := range got {
		names = append(names, m[1])
	}
	if want := []string{"vitrine_http_requests_total", "vitrine_x_bucket"}; !slices.Equal(names, want) {
		t.Fatalf("got %v, want %v", names, want)
	}
}
