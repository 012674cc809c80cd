package search_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/search"
	st "github.com/vitrine-dev/vitrine/internal/search/searchtest"
)

// exampleSynonyms is the synonyms file the README tells operators to use.
var exampleSynonyms = filepath.Join("..", "..", "config", "synonyms.txt")

// openSeeded indexes the first n products of `vitrine seed --seed 1` with
// the example synonyms.
func openSeeded(tb testing.TB, n int) (*search.Service, []*product.Product) {
	tb.Helper()
	svc, err := search.Open(tb.TempDir(), search.Options{SynonymsFile: exampleSynonyms})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	catalog, changes := seededCatalog(n)
	applyAll(tb, svc, changes)
	return svc, catalog
}

// TestJudgedRelevance holds the engine to the judged set on the first
// 5,000 products of the seeded catalog: nDCG@10 at least 0.95 and no
// query without results (each has good answers in the catalog).
func TestJudgedRelevance(t *testing.T) {
	svc, catalog := openSeeded(t, 5000)
	var out strings.Builder
	all := report(&out, judge(t, svc, catalog, judgedQueries(catalog)), true)
	t.Log("\n" + out.String())
	if all.ndcg < 0.95 || all.zeroShare > 0 {
		t.Fatalf("nDCG@10 %.3f (want at least 0.95), zero-result rate %.0f%% (want 0)", all.ndcg, 100*all.zeroShare)
	}
}

// BenchmarkSeededCatalog indexes the 100,000 products of `vitrine seed
// --seed 1`, prints nDCG@10 and the zero-result rate of the judged set
// per class, then measures search and suggestion latency with the query
// mix of `vitrine bench` (see below): wall time, and the CPU time of the
// thread that ran each query, which a machine busy with other work
// inflates far less (a search or suggestion runs on the caller's
// goroutine, locked here to its thread):
//
//	go test ./internal/search -run '^$' -bench SeededCatalog -benchtime 3000x -timeout 30m
//
// VITRINE_CATALOG_SIZE indexes fewer products, for a quick look.
func BenchmarkSeededCatalog(b *testing.B) {
	n := st.CatalogSize(b, 100_000)
	start := time.Now()
	svc, catalog := openSeeded(b, n)
	fmt.Printf("indexed %d products in %s\n", n, time.Since(start).Round(time.Second))
	all := report(os.Stdout, judge(b, svc, catalog, judgedQueries(catalog)), testing.Verbose())
	b.ReportMetric(all.ndcg, "nDCG@10")
	b.ReportMetric(100*all.zeroShare, "zero-result-%")

	// The search traffic of `vitrine bench` (internal/bench) for this
	// catalog: words, adjacent pairs and brands of the first 5,000
	// names, Zipf weights, misspelt variants.
	var names, brands []string
	for _, p := range catalog[:min(len(catalog), 5000)] {
		names, brands = append(names, p.Name), append(brands, p.Brand)
	}
	mix := bench.NewQueryMix(names, brands, 1)
	ctx := context.Background()
	b.Run("search", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var all, first latencies
		seen := map[string]bool{}
		rng := rand.New(rand.NewPCG(7, 7))
		for b.Loop() {
			q := mix.Draw(rng)
			m := measure(func() {
				if _, err := svc.Search(ctx, search.Query{Text: q}); err != nil {
					b.Fatal(err)
				}
			})
			all.add(m)
			if !seen[q] {
				first.add(m)
				seen[q] = true
			}
		}
		b.ReportMetric(ms(percentile(all.wall, 0.95)), "p95-ms")
		b.ReportMetric(ms(percentile(first.cpu, 0.95)), "first-time-p95-cpu-ms")
		fmt.Printf("search, %d queries: %s\n  first-time, %d: %s\n", len(all.wall), all, len(first.wall), first)
	})
	b.Run("suggest", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var all latencies
		rng := rand.New(rand.NewPCG(8, 8))
		for b.Loop() {
			// what the shopper has typed so far of a query from the mix
			q := []rune(mix.Draw(rng))
			typed := string(q[:1+rng.IntN(len(q))])
			all.add(measure(func() {
				if _, err := svc.Suggest(ctx, typed); err != nil {
					b.Fatal(err)
				}
			}))
		}
		b.ReportMetric(ms(percentile(all.wall, 0.95)), "p95-ms")
		b.ReportMetric(ms(percentile(all.cpu, 0.95)), "p95-cpu-ms")
		fmt.Printf("suggest, %d prefixes: %s\n", len(all.wall), all)
	})
}

// latencies are the wall and thread CPU times of calls.
type latencies struct{ wall, cpu []time.Duration }

func (l *latencies) add(m [2]time.Duration) {
	l.wall, l.cpu = append(l.wall, m[0]), append(l.cpu, m[1])
}

func (l latencies) String() string {
	return fmt.Sprintf("wall p50 %.2f ms, p95 %.2f ms, p99 %.2f ms; thread CPU p50 %.2f ms, p95 %.2f ms, p99 %.2f ms",
		ms(percentile(l.wall, 0.5)), ms(percentile(l.wall, 0.95)), ms(percentile(l.wall, 0.99)),
		ms(percentile(l.cpu, 0.5)), ms(percentile(l.cpu, 0.95)), ms(percentile(l.cpu, 0.99)))
}

// measure returns the wall time of f and the CPU time of the calling
// thread during it.
func measure(f func()) [2]time.Duration {
	cpu0, t0 := threadCPU(), time.Now()
	f()
	return [2]time.Duration{time.Since(t0), threadCPU() - cpu0}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}
