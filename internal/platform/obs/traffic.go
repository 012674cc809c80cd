package obs

import (
	"math"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Traffic is what this process has served since it started: cumulative
// counters, as Prometheus keeps them. A client that reads it twice draws
// the request rate and the latency of the time between (the console's live
// chart does), so the server keeps no history of its own.
type Traffic struct {
	At       time.Time `json:"at"`
	Requests uint64    `json:"requests"`
	Errors   uint64    `json:"errors"` // answered 5xx
	// Latency is the cumulative histogram of every route's request
	// durations: Count requests took at most LE seconds.
	Latency []LatencyBucket `json:"latency"`
	// Gauges of the services this process runs: outbox backlog, search
	// index lag. A gauge whose service does not run here is absent.
	Gauges map[string]float64 `json:"gauges"`
}

// LatencyBucket is one bucket of a cumulative histogram; LE is +Inf for
// the last (encoded as null).
type LatencyBucket struct {
	LE    *float64 `json:"le"`
	Count uint64   `json:"count"`
}

// trafficGauges are the gauges Traffic reports, by their short names.
var trafficGauges = map[string]string{
	"vitrine_outbox_backlog":   "outbox_backlog",
	"vitrine_search_index_lag": "search_index_lag",
}

// Traffic sums the request metrics over every route, method and status.
func (m *Metrics) Traffic(now time.Time) (Traffic, error) {
	families, err := m.Registry.Gather()
	if err != nil {
		return Traffic{}, err
	}
	t := Traffic{At: now.UTC(), Gauges: map[string]float64{}}
	for _, f := range families {
		switch name := f.GetName(); {
		case name == "vitrine_http_requests_total":
			for _, s := range f.GetMetric() {
				n := uint64(s.GetCounter().GetValue())
				t.Requests += n
				if status, _ := strconv.Atoi(label(s, "status")); status >= 500 {
					t.Errors += n
				}
			}
		case name == "vitrine_http_request_duration_seconds":
			t.Latency = sumHistograms(f.GetMetric())
		case trafficGauges[name] != "":
			for _, s := range f.GetMetric() {
				t.Gauges[trafficGauges[name]] += s.GetGauge().GetValue()
			}
		}
	}
	return t, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sumHistograms adds histograms that share their buckets, as every child
// of one HistogramVec does.
func sumHistograms(metrics []*dto.Metric) []LatencyBucket {
	var out []LatencyBucket
	var total uint64
	for _, s := range metrics {
		h := s.GetHistogram()
		total += h.GetSampleCount()
		for i, b := range h.GetBucket() {
			if i == len(out) {
				le := b.GetUpperBound()
				out = append(out, LatencyBucket{LE: &le})
			}
			out[i].Count += b.GetCumulativeCount()
		}
	}
	inf := LatencyBucket{Count: total}
	if len(out) > 0 && math.IsInf(*out[len(out)-1].LE, 1) {
		out[len(out)-1] = inf
		return out
	}
	return append(out, inf)
}
