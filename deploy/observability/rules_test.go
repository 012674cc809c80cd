// Package observability holds the Prometheus configuration, rules and
// Grafana dashboard of Vitrine (prometheus.yml, rules/, grafana/); its
// test checks that every query in them parses as PromQL and names only
// metrics a running Vitrine exports, series the rules record, or the
// Varnish exporter's counters.
package observability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v2"

	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/platform/redistest"
)

// query is one PromQL expression and where it is written.
type query struct {
	where, expr string
}

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

// ruleQueries returns the expressions of the rule files and the names of
// the series the recording rules make.
func ruleQueries(t *testing.T) (queries []query, recorded map[string]bool) {
	t.Helper()
	recorded = map[string]bool{}
	for _, name := range []string{"rules/recording.yml", "rules/alerts.yml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var f ruleFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				queries = append(queries, query{name + ": " + r.Record + r.Alert, r.Expr})
				if r.Record != "" {
					recorded[r.Record] = true
				}
			}
		}
	}
	return queries, recorded
}

// panel is what the test reads of a Grafana panel; rows hold their panels
// in Panels when collapsed.
type panel struct {
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboardQueries returns the expressions of the dashboard's panels and
// the titles of its rows.
func dashboardQueries(t *testing.T) (queries []query, rows []string) {
	t.Helper()
	b, err := os.ReadFile("grafana/vitrine.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string  `json:"title"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana/vitrine.json: %v", err)
	}
	row := ""
	var walk func([]panel)
	walk = func(panels []panel) {
		for _, p := range panels {
			if p.Type == "row" {
				row = p.Title
				rows = append(rows, row)
			}
			for i, target := range p.Targets {
				queries = append(queries, query{fmt.Sprintf("grafana/vitrine.json: %s / %s, query %d", row, p.Title, i+1), target.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return queries, rows
}

// metricNames parses expr and returns the metric names its selectors read.
func metricNames(expr string) ([]string, error) {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			names = append(names, "(a selector with no metric name)")
		} else {
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

// exported returns the metric families a /metrics handler lists, by their
// # TYPE lines: a histogram's base name stands for its _bucket, _sum and
// _count series, a summary's for _sum and _count.
func exported(t *testing.T, metrics http.Handler) (names map[string]bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	names = map[string]bool{}
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		switch f[3] {
		case "histogram":
			names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
		case "summary":
			names[f[2]+"_sum"], names[f[2]+"_count"] = true, true
		}
	}
	return names
}

// runningVitrine starts every service in one process, with the local
// Redis (so the Redis circuit breakers exist), serves it a few requests
// so the request metrics have series, and returns its /metrics handler.
func runningVitrine(t *testing.T) http.Handler {
	t.Helper()
	redistest.Client(t) // fails the test when Redis is missing
	cfg := modules.DefaultConfig()
	cfg.Store.DataDir, cfg.Logger = t.TempDir(), slog.New(slog.DiscardHandler)
	cfg.Redis.URL, cfg.Namespace = "redis://"+redistest.Addr()+"/0", fmt.Sprintf("obs-test-%d", time.Now().UnixNano())
	// An edge to purge, so that the purge consumer runs and its metrics
	// exist, as on a product instance with --edge-purge-url.
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Purged", "0")
	}))
	t.Cleanup(edge.Close)
	cfg.Edge.PurgeURLs = []string{edge.URL}
	app, err := modules.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	// Twice: a miss, then a hit.
	for range 2 {
		rec := httptest.NewRecorder()
		app.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/products", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /api/products: %d %s", rec.Code, rec.Body)
		}
	}
	return app.Metrics()
}

// varnishExporter are the metrics of prometheus-varnish-exporter (beside
// each Varnish, deploy/varnish) that the rules and the dashboard read: its
// names for varnishstat's MAIN.cache_hit and MAIN.cache_miss, as
// "prometheus-varnish-exporter -test" lists them.
var varnishExporter = map[string]bool{"varnish_main_cache_hit": true, "varnish_main_cache_miss": true}

// TestQueriesNameExportedMetrics parses every expression of the rules and
// of the dashboard, and checks each metric it reads against the metrics a
// running Vitrine exports and the series the recording rules make.
func TestQueriesNameExportedMetrics(t *testing.T) {
	rules, recorded := ruleQueries(t)
	dashboard, rows := dashboardQueries(t)
	for _, want := range []string{"product", "auth", "search", "analytics", "Cache", "Event stream", "Edge cache"} {
		if !slices.Contains(rows, want) {
			t.Errorf("the dashboard has no %q row; rows: %q", want, rows)
		}
	}

	used := map[string][]string{} // metric name: where
	for _, q := range append(rules, dashboard...) {
		names, err := metricNames(q.expr)
		if err != nil {
			t.Errorf("%s: %v\n%s", q.where, err, q.expr)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s reads no metric: %s", q.where, q.expr)
		}
		for _, n := range names {
			if !recorded[n] {
				used[n] = append(used[n], q.where)
			}
		}
	}
	for _, want := range []string{"vitrine_http_requests_total", "vitrine_http_request_duration_seconds_bucket",
		"vitrine_breaker_state", "vitrine_events_consumer_lag", "vitrine_outbox_backlog", "vitrine_search_index_lag",
		"vitrine_edge_purges_total", "vitrine_edge_purge_lag_seconds_bucket", "varnish_main_cache_hit", "varnish_main_cache_miss"} {
		if _, ok := used[want]; !ok {
			t.Errorf("no rule or panel reads %s", want)
		}
	}

	metrics := runningVitrine(t)
	// The listing was read twice: a cache miss, then a hit.
	text := httptest.NewRecorder()
	metrics.ServeHTTP(text, httptest.NewRequest("GET", "/metrics", nil))
	for _, outcome := range []string{"miss", "hit"} {
		series := `vitrine_http_request_duration_seconds_count{cache="` + outcome + `",method="GET",route="GET /api/products"} 1`
		if !strings.Contains(text.Body.String(), series) {
			t.Errorf("/metrics has no %s", series)
		}
	}
	// The event consumers start in the background and add their series
	// when they do: look again until every name is there or time is up.
	var missing []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		names := exported(t, metrics)
		missing = missing[:0]
		for name := range used {
			if !names[name] && !varnishExporter[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	slices.Sort(missing)
	for _, name := range missing {
		t.Errorf("%s, read by %s, is neither a metric Vitrine exports nor a recorded series", name, strings.Join(used[name], "; "))
	}
}

// The parser finds every metric an expression reads, recorded series
// included, and refuses what is not PromQL.
func TestMetricNames(t *testing.T) {
	got, err := metricNames(`sum by (service) (rate(vitrine_http_requests_total{status=~"5.."}[5m])) / service:vitrine_http_error_ratio:rate5m + {__name__="vitrine_x_bucket"}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"vitrine_http_requests_total", "service:vitrine_http_error_ratio:rate5m", "vitrine_x_bucket"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := metricNames(`rate(vitrine_http_requests_total[5m]`); err == nil {
		t.Fatal("an unclosed parenthesis parsed")
	}
}
