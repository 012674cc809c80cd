package resilience

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

var stateDesc = prometheus.NewDesc("vitrine_breaker_state",
	"State of each circuit breaker: 0 closed, 1 half-open (trying the remote side again), 2 open (calls refused).",
	[]string{"breaker"}, nil)

// Describe implements prometheus.Collector.
func (s *Breakers) Describe(ch chan<- *prometheus.Desc) { ch <- stateDesc }

// Collect implements prometheus.Collector: one vitrine_breaker_state per
// breaker, read when scraped.
func (s *Breakers) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.all))
	breakers := make([]*Breaker, len(names))
	for i, n := range names {
		breakers[i] = s.all[n]
	}
	s.mu.Unlock()
	for _, b := range breakers {
		ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, float64(b.State()), b.name)
	}
}
