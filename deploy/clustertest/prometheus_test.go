package clustertest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"
)

// testPrometheus: the cluster's Prometheus scrapes every running instance,
// found through the targets the cluster writes, follows a scale up and
// down, and its recording rules have data from the flows' requests; it
// scrapes each zone's edge cache's counters too.
func testPrometheus(c *cluster) {
	t := c.t
	c.expectScraped(c.runningInstances())

	c.scale("analytics", c.cl.Config.Instances+1)
	c.expectScraped(c.runningInstances())
	c.scale("analytics", c.cl.Config.Instances)
	c.expectScraped(c.runningInstances())

	// A rate needs two scrapes of a counter that moved between them: the
	// requests go on while Prometheus is asked, each a page size of its
	// own, which the edge cache has not kept.
	listing := `service_route:vitrine_http_requests:rate5m{service="product",route="GET /api/products"} > 0`
	limit := 0
	eventually(t, time.Minute, "Prometheus to answer "+listing, func() bool {
		limit = limit%100 + 1
		c.expect(200, "GET", fmt.Sprintf("/api/products?limit=%d", limit), "", nil)
		return len(c.promQuery(listing)) > 0
	})
	// The edges' exporters: each zone's is scraped and up, and Varnish's
	// counters are there.
	if c.cl.Config.Edge {
		edges := `count(varnish_main_cache_hit{job="edge"}) == 3`
		eventually(t, time.Minute, "Prometheus to answer "+edges, func() bool { return len(c.promQuery(edges)) > 0 })
	}
	for _, rule := range []string{
		// Every analytics instance runs the analytics-search-batches consumer.
		`service_consumer:vitrine_events_consumer_lag:max{consumer="analytics-search-batches"} >= 0`,
		// The product instances have a Redis cache, behind a breaker (its
		// state, whichever it is: a breaker may open while the cluster
		// starts on a loaded machine).
		`service_breaker:vitrine_breaker_state:max{service="product",breaker="redis-cache"} >= 0`,
	} {
		eventually(t, time.Minute, "Prometheus to answer "+rule, func() bool { return len(c.promQuery(rule)) > 0 })
	}
}

// runningInstances names the service instances that have a pid file.
func (c *cluster) runningInstances() []string {
	c.t.Helper()
	var names []string
	for _, name := range c.processNames() {
		if _, _, ok := localcluster.ParseInstance(name); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// expectScraped waits until Prometheus's active targets of the job
// "vitrine" are exactly the named instances, each scraped and up.
func (c *cluster) expectScraped(want []string) {
	c.t.Helper()
	var up []string
	eventually(c.t, time.Minute, fmt.Sprintf("Prometheus to scrape %v, all up", want), func() bool {
		var res struct {
			Data struct {
				ActiveTargets []struct {
					Labels map[string]string `json:"labels"`
					Health string            `json:"health"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		c.promGet("targets?state=active", &res)
		up = up[:0]
		for _, target := range res.Data.ActiveTargets {
			if target.Labels["job"] != "vitrine" {
				continue
			}
			if target.Health != "up" {
				return false
			}
			up = append(up, target.Labels["instance"])
		}
		slices.Sort(up)
		return slices.Equal(up, want)
	})
}

// promQuery runs an instant query and returns its samples' labels.
func (c *cluster) promQuery(q string) []map[string]string {
	c.t.Helper()
	var res struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	c.promGet("query?query="+url.QueryEscape(q), &res)
	var out []map[string]string
	for _, r := range res.Data.Result {
		out = append(out, r.Metric)
	}
	return out
}

// promGet decodes an answer of the cluster's Prometheus HTTP API.
func (c *cluster) promGet(path string, v any) {
	c.t.Helper()
	res, err := c.client.Get(c.layout.PrometheusURL + "/api/v1/" + path)
	if err != nil {
		c.t.Fatalf("Prometheus: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		c.t.Fatalf("Prometheus %s: %s", path, res.Status)
	}
	if err := jsonDecode(res, v); err != nil {
		c.t.Fatalf("Prometheus %s: %v", path, err)
	}
}
