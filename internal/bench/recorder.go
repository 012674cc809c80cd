package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: latencies in microseconds from 1µs to 60s, 3 significant
// digits (a recorded value is within 0.1% of the true one).
const (
	histMinMicros = 1
	histMaxMicros = 60_000_000
	histDigits    = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, histDigits)
}

// outcome is what became of one request.
type outcome struct {
	label    int // index into the workload's labels
	intended time.Time
	latency  time.Duration // from the intended send time to the last byte
	status   int           // HTTP status; 0 when the exchange failed
	errKind  string        // transport error kind when status is 0
	errText  string
	// sessionStart: the first request of a session.
	sessionStart bool
}

// recorder collects outcomes. Requests intended before measureFrom are the
// warm-up: they count for the progress line only.
type recorder struct {
	measureFrom time.Time

	mu         sync.Mutex
	labels     []string
	perLabel   []*labelStats
	overall    *labelStats
	transport  map[string]int64
	samples    map[string]string // first message seen of each transport error kind
	sessions   int64             // started in the measured window
	unfinished int64

	// Progress counters, warm-up included; read without the lock.
	finished atomic.Int64
	failed   atomic.Int64
}

type labelStats struct {
	hist     *hdrhistogram.Histogram // responses only: a failed exchange has no latency
	requests int64                   // responses and failed exchanges
	errors   int64                   // status >= 400 and failed exchanges
	statuses map[int]int64
}

func newLabelStats() *labelStats {
	return &labelStats{hist: newHistogram(), statuses: map[int]int64{}}
}

func newRecorder(labels []string, measureFrom time.Time) *recorder {
	r := &recorder{
		measureFrom: measureFrom,
		labels:      labels,
		overall:     newLabelStats(),
		transport:   map[string]int64{},
		samples:     map[string]string{},
	}
	for range labels {
		r.perLabel = append(r.perLabel, newLabelStats())
	}
	return r
}

func (r *recorder) record(o outcome) {
	isErr := o.status == 0 || o.status >= 400
	r.finished.Add(1)
	if isErr {
		r.failed.Add(1)
	}
	if o.intended.Before(r.measureFrom) {
		return
	}
	micros := min(max(o.latency.Microseconds(), histMinMicros), histMaxMicros)

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range [2]*labelStats{r.perLabel[o.label], r.overall} {
		s.requests++
		if isErr {
			s.errors++
		}
		if o.status != 0 {
			s.statuses[o.status]++
			_ = s.hist.RecordValue(micros) // in range: clamped above
		}
	}
	if o.status == 0 {
		r.transport[o.errKind]++
		if _, ok := r.samples[o.errKind]; !ok {
			r.samples[o.errKind] = o.errText
		}
	}
	if o.sessionStart {
		r.sessions++
	}
}

// abandon counts a request cut off by the end of the run (or Ctrl-C): it is
// neither a success nor a server error.
func (r *recorder) abandon(intended time.Time) {
	if intended.Before(r.measureFrom) {
		return
	}
	r.mu.Lock()
	r.unfinished++
	r.mu.Unlock()
}

// p99 is the overall 99th percentile measured so far.
func (r *recorder) p99() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(r.overall.hist.ValueAtQuantile(99)) * time.Microsecond
}
