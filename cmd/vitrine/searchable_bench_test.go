package main

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkTimeToSearchable measures, in the all-in-one shape, how long a
// product created through the API takes to be found by the search API:
// from the POST until a search for its (unique) name returns it. It
// reports the median and the worst time besides ns/op.
//
//	go test ./cmd/vitrine -run '^$' -bench TimeToSearchable -benchtime 50x
func BenchmarkTimeToSearchable(b *testing.B) {
	c := startCatalog(b, "--rate-limit-ip", "off", "--rate-limit-user", "off")
	var samples []time.Duration
	i := 0
	for b.Loop() {
		i++
		word := fmt.Sprintf("zq%dx%d", time.Now().UnixNano()%1e6, i)
		start := time.Now()
		c.createProduct(b, productBody("Searchable "+word, "SRCH-"+word, 1000, nil))
		for c.search(b, "q="+word).Total != 1 {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("product %d never became searchable", i)
			}
			time.Sleep(time.Millisecond)
		}
		samples = append(samples, time.Since(start))
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(samples[len(samples)-1].Microseconds())/1000, "ms-max")
}
