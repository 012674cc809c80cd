// Package resilience is how Vitrine calls what it does not control (Redis,
// the event stream, another service): every call has a deadline, runs
// behind a named circuit breaker that one Policy configures for the whole
// process, and is retried, with jitter, only when the caller says it is
// safe to repeat.
//
// The defaults are the reference architecture's: a call may take 3 s; a
// breaker opens when half of the calls of the last 10 s failed (once there
// were enough of them to judge), stays open for 30 s, then lets one call
// through to try again (half-open). The breakers' states are exported as
// vitrine_breaker_state{breaker} and each change of state is logged once.
package resilience

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Policy is the breaker settings every remote call of a process shares.
type Policy struct {
	// Timeout is the deadline of one call. A breaker may be given a
	// shorter one (Redis on a request's path answers in milliseconds or
	// not at all), never a longer one.
	Timeout time.Duration
	// FailureRatio opens a breaker: the share of failed calls, among at
	// least MinRequests in the last Window, at which it stops calling.
	FailureRatio float64
	MinRequests  int
	// Window is the span a closed breaker judges: the calls of the last
	// Window, counted in windowBuckets buckets of which the oldest is
	// dropped as each new one starts. The counts never start afresh all at
	// once, so a short burst of failures (a pause of the caller's own
	// process failing the few calls in flight) cannot, by landing on a
	// fresh count, open a breaker that thousands of calls just before
	// had no reason to open.
	Window time.Duration
	// OpenFor is how long an open breaker refuses calls before it lets
	// one through to see whether the remote side is back.
	OpenFor time.Duration
}

// windowBuckets is how many parts of its Window a breaker counts apart.
const windowBuckets = 10

// DefaultPolicy returns the reference architecture's settings.
func DefaultPolicy() Policy {
	return Policy{Timeout: 3 * time.Second, FailureRatio: 0.5, MinRequests: 10, Window: 10 * time.Second, OpenFor: 30 * time.Second}
}

// RegisterFlags sets p to DefaultPolicy and lets the --breaker-* flags
// change it.
func (p *Policy) RegisterFlags(f *flag.FlagSet) {
	*p = DefaultPolicy()
	f.DurationVar(&p.Timeout, "breaker-timeout", p.Timeout, "deadline of one call to Redis, the event stream or the auth service (Redis on a request's path keeps its shorter 50ms)")
	f.Float64Var(&p.FailureRatio, "breaker-failure-ratio", p.FailureRatio, "share of failed calls (0 to 1) at which a circuit breaker opens and stops calling")
	f.IntVar(&p.MinRequests, "breaker-min-requests", p.MinRequests, "calls a breaker must count, in its --breaker-window, before their failures can open it")
	f.DurationVar(&p.Window, "breaker-window", p.Window, "span of the latest calls a breaker judges (rolling, in tenths)")
	f.DurationVar(&p.OpenFor, "breaker-open-for", p.OpenFor, "how long an open breaker refuses calls before it lets one through to try again (half-open)")
}

// Validate reports the first setting out of range, naming its flag.
func (p Policy) Validate() error {
	switch {
	case p.Timeout <= 0:
		return fmt.Errorf("--breaker-timeout must be positive, not %s", p.Timeout)
	case !(p.FailureRatio > 0 && p.FailureRatio <= 1):
		return fmt.Errorf("--breaker-failure-ratio must be above 0 and at most 1, not %g", p.FailureRatio)
	case p.MinRequests < 1:
		return fmt.Errorf("--breaker-min-requests must be at least 1, not %d", p.MinRequests)
	case p.Window < windowBuckets*time.Millisecond:
		return fmt.Errorf("--breaker-window must be at least %s, not %s", windowBuckets*time.Millisecond, p.Window)
	case p.OpenFor <= 0:
		return fmt.Errorf("--breaker-open-for must be positive, not %s", p.OpenFor)
	}
	return nil
}

// orDefault is p, or DefaultPolicy when p is the zero Policy.
func (p Policy) orDefault() Policy {
	if p == (Policy{}) {
		return DefaultPolicy()
	}
	return p
}

// ErrOpen is returned, without calling, by a breaker that is open or that
// is half-open with its trial call already under way.
var ErrOpen = errors.New("circuit breaker open")
