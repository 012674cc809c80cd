package resilience

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// State is a breaker's state, as exported in vitrine_breaker_state.
type State int

const (
	Closed   State = 0 // calls go through
	HalfOpen State = 1 // one trial call goes through; its outcome closes or reopens the breaker
	Open     State = 2 // calls are refused at once with ErrOpen
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	default:
		return "open"
	}
}

// Breakers makes the breakers of a process, all with one Policy, and
// exports their states (it is a prometheus.Collector).
type Breakers struct {
	policy Policy
	logger *slog.Logger
	mu     sync.Mutex
	all    map[string]*Breaker
}

// NewBreakers returns a set with policy (DefaultPolicy when it is the zero
// Policy) that logs changes of state to logger (slog.Default() when nil).
// It panics when policy does not Validate: flags are checked before.
func NewBreakers(policy Policy, logger *slog.Logger) *Breakers {
	policy = policy.orDefault()
	if err := policy.Validate(); err != nil {
		panic(err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Breakers{policy: policy, logger: logger, all: map[string]*Breaker{}}
}

// Option adapts one breaker to what it guards.
type Option func(*Breaker)

// Deadline gives the breaker's calls a shorter deadline than the policy's
// Timeout (a longer one is ignored): Redis, on a request's path, must
// answer within milliseconds to be of use.
func Deadline(d time.Duration) Option {
	return func(b *Breaker) {
		if d > 0 {
			b.timeout = min(b.timeout, d)
		}
	}
}

// Benign names errors that are answers, not failures of the remote side
// (a cache miss, a 404): they count as successes.
func Benign(isBenign func(error) bool) Option {
	return func(b *Breaker) { b.benign = isBenign }
}

// Breaker guards the calls to one remote dependency.
type Breaker struct {
	name    string
	cb      *gobreaker.CircuitBreaker[struct{}]
	timeout time.Duration
	benign  func(error) bool
}

// Breaker returns a new breaker called name (it names the breaker in logs
// and metrics). Names are unique in a set: a second breaker of one name
// panics, as a metric registered twice does.
func (s *Breakers) Breaker(name string, opts ...Option) *Breaker {
	b := &Breaker{name: name, timeout: s.policy.Timeout, benign: func(error) bool { return false }}
	for _, o := range opts {
		o(b)
	}
	p := s.policy
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         name,
		MaxRequests:  1,
		Interval:     p.Window,
		BucketPeriod: p.Window / windowBuckets,
		Timeout:      p.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= uint32(p.MinRequests) && float64(c.TotalFailures) >= p.FailureRatio*float64(c.Requests)
		},
		IsSuccessful: func(err error) bool { return err == nil || b.benign(err) },
		IsExcluded:   func(err error) bool { return errors.As(err, new(callerGone)) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			level := slog.LevelWarn
			if to == gobreaker.StateClosed {
				level = slog.LevelInfo
			}
			s.logger.LogAttrs(context.Background(), level, "circuit breaker changed state",
				slog.String("breaker", name), slog.String("from", stateOf(from).String()), slog.String("to", stateOf(to).String()))
		},
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.all[name]; dup {
		panic(fmt.Sprintf("resilience: a breaker named %q exists already", name))
	}
	s.all[name] = b
	return b
}

// State returns the breaker's state now.
func (b *Breaker) State() State { return stateOf(b.cb.State()) }

// Do calls call with a context bounded by the breaker's deadline, unless
// the breaker is open (then it returns ErrOpen at once). call must honour
// its context. An error counts against the remote side unless it is
// benign, or the caller cancelled ctx (it gave up: no news about the
// remote side). A deadline of the caller's that passes first does count:
// the remote side was slower than its callers can wait.
func (b *Breaker) Do(ctx context.Context, call func(context.Context) error) error {
	_, err := b.cb.Execute(func() (struct{}, error) {
		callCtx, cancel := context.WithTimeout(ctx, b.timeout)
		defer cancel()
		err := call(callCtx)
		if err != nil && errors.Is(ctx.Err(), context.Canceled) {
			return struct{}{}, callerGone{err}
		}
		return struct{}{}, err
	})
	var gone callerGone
	switch {
	case errors.As(err, &gone):
		return gone.err
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return fmt.Errorf("%s: %w", b.name, ErrOpen)
	}
	return err
}

// callerGone carries the error of a call whose caller had given up.
type callerGone struct{ err error }

func (c callerGone) Error() string { return c.err.Error() }

func stateOf(s gobreaker.State) State {
	switch s {
	case gobreaker.StateClosed:
		return Closed
	case gobreaker.StateHalfOpen:
		return HalfOpen
	default:
		return Open
	}
}
