package resilience_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

func TestRetryUntilSuccess(t *testing.T) {
	calls := 0
	err := resilience.Retry(context.Background(), 4, time.Millisecond, func(context.Context) error {
		calls++
		if calls < 3 {
			return errDown
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want success on the third", err, calls)
	}
}

func TestRetryGivesUp(t *testing.T) {
	calls := 0
	err := resilience.Retry(context.Background(), 3, time.Millisecond, func(context.Context) error { calls++; return errDown })
	if !errors.Is(err, errDown) || calls != 3 {
		t.Fatalf("err %v after %d calls, want the last error after 3", err, calls)
	}
}

func TestRetryStopsAtPermanentErrorsAndOpenBreakers(t *testing.T) {
	refused := errors.New("refused")
	calls := 0
	err := resilience.Retry(context.Background(), 5, time.Millisecond, func(context.Context) error {
		calls++
		return resilience.Permanent(refused)
	})
	if err != refused || calls != 1 {
		t.Fatalf("err %v after %d calls, want the bare permanent error after 1", err, calls)
	}

	set := resilience.NewBreakers(testPolicy(), quiet)
	b := set.Breaker("remote")
	calls = 0
	err = resilience.Retry(context.Background(), 50, time.Millisecond, func(ctx context.Context) error {
		calls++
		return b.Do(ctx, fail)
	})
	if !errors.Is(err, resilience.ErrOpen) || calls != testPolicy().MinRequests+1 {
		t.Fatalf("err %v after %d calls, want ErrOpen once the breaker opened", err, calls)
	}
}

func TestRetryStopsWhenTheCallerGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls := 0
	err := resilience.Retry(ctx, 100, time.Second, func(context.Context) error { calls++; return errDown })
	if !errors.Is(err, errDown) || calls > 2 {
		t.Fatalf("err %v after %d calls; the wait between them should have outlasted the caller", err, calls)
	}
}
