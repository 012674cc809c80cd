package resilience

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Retry calls call up to attempts times until it succeeds, waiting a
// random time between attempts, up to base, 2·base, 4·base... ("full
// jitter", so that many callers failing together do not come back
// together). It stops early when call's error is Permanent, when a
// breaker refused the call (ErrOpen), or when ctx ends. It returns the
// last error.
//
// Only retry calls that are safe to repeat: reads, and writes the remote
// side deduplicates (a publish with a message id).
func Retry(ctx context.Context, attempts int, base time.Duration, call func(context.Context) error) error {
	var err error
	for i := range max(attempts, 1) {
		if i > 0 {
			wait := time.Duration(rand.Int64N(int64(base<<(i-1)) + 1))
			select {
			case <-ctx.Done():
				return err
			case <-time.After(wait):
			}
		}
		err = call(ctx)
		var p permanent
		switch {
		case err == nil:
			return nil
		case errors.As(err, &p):
			return p.err
		case errors.Is(err, ErrOpen), ctx.Err() != nil:
			return err
		}
	}
	return err
}

// Permanent marks an error that repeating the call would not change (a
// refusal, a malformed answer): Retry returns it at once, unwrapped.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }
