package resilience_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

var errDown = errors.New("remote side down")

func ok(context.Context) error   { return nil }
func fail(context.Context) error { return errDown }

// testPolicy opens after half of 4 calls of the last 10 s failed and
// tries again after 200 ms.
func testPolicy() resilience.Policy {
	return resilience.Policy{Timeout: time.Second, FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, OpenFor: 200 * time.Millisecond}
}

func TestBreakerOpensAtTheFailureRatio(t *testing.T) {
	set := resilience.NewBreakers(testPolicy(), quiet)
	b := set.Breaker("remote")
	ctx := context.Background()
	// One failure in three calls: below the minimum count, and below half.
	for _, call := range []func(context.Context) error{ok, fail, ok} {
		_ = b.Do(ctx, call)
	}
	if b.State() != resilience.Closed {
		t.Fatalf("state %s after 1 failure in 3 calls, want closed", b.State())
	}
	// Fourth call fails: 2 of 4, half, with the minimum reached.
	if err := b.Do(ctx, fail); !errors.Is(err, errDown) {
		t.Fatalf("the failing call returned %v, want its own error", err)
	}
	if b.State() != resilience.Open {
		t.Fatalf("state %s after 2 failures in 4 calls, want open", b.State())
	}
	called := false
	err := b.Do(ctx, func(context.Context) error { called = true; return nil })
	if !errors.Is(err, resilience.ErrOpen) || called {
		t.Fatalf("an open breaker returned %v and called=%v; want ErrOpen without calling", err, called)
	}
	if !strings.Contains(err.Error(), "remote") {
		t.Fatalf("the refusal %q does not name the breaker", err)
	}
}

func TestBreakerStaysClosedBelowTheRatio(t *testing.T) {
	set := resilience.NewBreakers(testPolicy(), quiet)
	b := set.Breaker("remote")
	for i := range 40 {
		call := ok
		if i%3 == 2 {
			call = fail // a third of the calls
		}
		_ = b.Do(context.Background(), call)
	}
	if b.State() != resilience.Closed {
		t.Fatalf("state %s with a third of the calls failing, want closed", b.State())
	}
}

// A breaker judges the calls of its last Window, not a count started
// afresh every Window: a burst of failures just after such a restart (a
// pause of the caller's own process failing the few calls in flight) does
// not open a breaker that many calls a moment before kept closed. Calls
// older than the Window are forgotten all the same.
func TestBreakerJudgesTheLastWindow(t *testing.T) {
	t.Parallel()
	p := testPolicy()
	p.Window = 2 * time.Second
	b := resilience.NewBreakers(p, quiet).Breaker("remote")
	ctx := context.Background()
	calls := func(n int, call func(context.Context) error) {
		for range n {
			_ = b.Do(ctx, call)
		}
	}
	calls(50, ok)
	time.Sleep(1200 * time.Millisecond)
	calls(50, ok)
	// Past the first Window: a count started afresh would hold only the
	// burst, 8 failures of 8 calls.
	time.Sleep(time.Second)
	calls(8, fail)
	if b.State() != resilience.Closed {
		t.Fatalf("state %s after 8 failures following 50 successes within the window, want closed", b.State())
	}
	// A Window later every one of those calls is forgotten: 4 failures
	// of 4 open it.
	time.Sleep(p.Window + 200*time.Millisecond)
	calls(4, fail)
	if b.State() != resilience.Open {
		t.Fatalf("state %s after 4 failures of the last window's 4 calls, want open", b.State())
	}
}

func TestBreakerHalfOpensAfterOpenForThenCloses(t *testing.T) {
	set := resilience.NewBreakers(testPolicy(), quiet)
	b := set.Breaker("remote")
	ctx := context.Background()
	for range 4 {
		_ = b.Do(ctx, fail)
	}
	if b.State() != resilience.Open {
		t.Fatalf("state %s, want open", b.State())
	}
	time.Sleep(testPolicy().OpenFor + 50*time.Millisecond)
	if b.State() != resilience.HalfOpen {
		t.Fatalf("state %s after OpenFor, want half-open", b.State())
	}
	// A failed trial opens it again at once.
	_ = b.Do(ctx, fail)
	if b.State() != resilience.Open {
		t.Fatalf("state %s after a failed trial, want open", b.State())
	}
	time.Sleep(testPolicy().OpenFor + 50*time.Millisecond)
	// One trial at a time: a second caller is refused while it runs.
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = b.Do(ctx, func(context.Context) error { <-release; return nil })
	})
	for b.State() == resilience.HalfOpen {
		if err := b.Do(ctx, ok); errors.Is(err, resilience.ErrOpen) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if b.State() != resilience.Closed {
		t.Fatalf("state %s after a successful trial, want closed", b.State())
	}
}

func TestBreakerBoundsEveryCall(t *testing.T) {
	set := resilience.NewBreakers(testPolicy(), quiet)
	for _, c := range []struct {
		name string
		opts []resilience.Option
		want time.Duration
	}{
		{"policy", nil, time.Second},
		{"shorter", []resilience.Option{resilience.Deadline(50 * time.Millisecond)}, 50 * time.Millisecond},
		{"longer", []resilience.Option{resilience.Deadline(time.Minute)}, time.Second}, // the policy is the ceiling
	} {
		b := set.Breaker(c.name, c.opts...)
		var got time.Duration
		_ = b.Do(context.Background(), func(ctx context.Context) error {
			deadline, ok := ctx.Deadline()
			if !ok {
				t.Fatalf("%s: the call has no deadline", c.name)
			}
			got = time.Until(deadline)
			return nil
		})
		if got > c.want || got < c.want-100*time.Millisecond {
			t.Errorf("%s: the call's deadline is %s away, want %s", c.name, got, c.want)
		}
	}
}

func TestCallersGivingUpAndBenignErrorsDoNotOpenTheBreaker(t *testing.T) {
	set := resilience.NewBreakers(testPolicy(), quiet)
	notFound := errors.New("not found")
	b := set.Breaker("remote", resilience.Benign(func(err error) bool { return errors.Is(err, notFound) }))
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for range 10 {
		if err := b.Do(gone, func(ctx context.Context) error { return ctx.Err() }); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want the call's own error", err)
		}
		if err := b.Do(context.Background(), func(context.Context) error { return notFound }); !errors.Is(err, notFound) {
			t.Fatalf("got %v, want the call's own error", err)
		}
	}
	if b.State() != resilience.Closed {
		t.Fatalf("state %s: callers that gave up and benign answers opened the breaker", b.State())
	}
	// A caller's deadline shorter than the breaker's is still the remote
	// side's slowness.
	b = set.Breaker("slow")
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_ = b.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		cancel()
	}
	if b.State() != resilience.Open {
		t.Fatalf("state %s after 4 calls that outlasted their callers' deadlines, want open", b.State())
	}
}

func TestBreakerStateMetricAndLog(t *testing.T) {
	var logs bytes.Buffer
	set := resilience.NewBreakers(testPolicy(), slog.New(slog.NewTextHandler(&logs, nil)))
	reg := prometheus.NewRegistry()
	reg.MustRegister(set)
	redis, bus, keys := set.Breaker("redis"), set.Breaker("bus"), set.Breaker("keys")
	for range 4 {
		_ = redis.Do(context.Background(), fail)
		_ = keys.Do(context.Background(), fail)
	}
	time.Sleep(testPolicy().OpenFor + 50*time.Millisecond)
	_ = redis.Do(context.Background(), fail) // half-open, failed: open again
	for range 10 {
		_ = redis.Do(context.Background(), fail) // refused: no change, no log
	}
	_ = bus.Do(context.Background(), ok)
	want := `
# HELP vitrine_breaker_state State of each circuit breaker: 0 closed, 1 half-open (trying the remote side again), 2 open (calls refused).
# TYPE vitrine_breaker_state gauge
vitrine_breaker_state{breaker="bus"} 0
vitrine_breaker_state{breaker="keys"} 1
vitrine_breaker_state{breaker="redis"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vitrine_breaker_state"); err != nil {
		t.Fatal(err)
	}
	// keys went half-open when read (OpenFor is over); redis went
	// open, half-open, open. Each change is one line.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var redisLines []string
	for _, l := range lines {
		if strings.Contains(l, "breaker=redis") {
			redisLines = append(redisLines, l)
		}
	}
	if len(redisLines) != 3 || !strings.Contains(redisLines[0], "from=closed to=open") ||
		!strings.Contains(redisLines[1], "from=open to=half-open") || !strings.Contains(redisLines[2], "from=half-open to=open") {
		t.Fatalf("log lines of the redis breaker:\n%s", strings.Join(redisLines, "\n"))
	}
	if !strings.Contains(redisLines[0], "level=WARN") {
		t.Fatalf("opening is not a warning: %s", redisLines[0])
	}
}

func TestBreakerNamesAreUnique(t *testing.T) {
	set := resilience.NewBreakers(resilience.Policy{}, quiet)
	set.Breaker("redis-cache")
	defer func() {
		if recover() == nil {
			t.Fatal("a second breaker named redis-cache was made")
		}
	}()
	set.Breaker("redis-cache")
}

func TestPolicyValidateNamesTheFlag(t *testing.T) {
	for flag, p := range map[string]resilience.Policy{
		"--breaker-timeout":       {Timeout: 0, FailureRatio: 0.5, MinRequests: 10, Window: time.Second, OpenFor: time.Second},
		"--breaker-failure-ratio": {Timeout: time.Second, FailureRatio: 1.5, MinRequests: 10, Window: time.Second, OpenFor: time.Second},
		"--breaker-min-requests":  {Timeout: time.Second, FailureRatio: 0.5, MinRequests: 0, Window: time.Second, OpenFor: time.Second},
		"--breaker-window":        {Timeout: time.Second, FailureRatio: 0.5, MinRequests: 10, Window: 0, OpenFor: time.Second},
		"--breaker-open-for":      {Timeout: time.Second, FailureRatio: 0.5, MinRequests: 10, Window: time.Second, OpenFor: -time.Second},
	} {
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%+v: %v, want an error naming %s", p, err, flag)
		}
	}
	if err := resilience.DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

// quiet takes the log lines of tests that do not read them.
var quiet = slog.New(slog.DiscardHandler)
