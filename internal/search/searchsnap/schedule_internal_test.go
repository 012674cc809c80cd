package searchsnap

import (
	"testing"
	"time"
)

// A snapshot is due after enough events, or after the interval once the
// index has changed; never when nothing changed.
func TestScheduleDue(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Schedule{Interval: time.Hour, Every: 1000}
	for _, tc := range []struct {
		applied, last uint64
		after         time.Duration
		want          bool
	}{
		{applied: 500, last: 500, after: 2 * time.Hour, want: false},
		{applied: 1499, last: 500, after: time.Minute, want: false},
		{applied: 1500, last: 500, after: time.Minute, want: true},
		{applied: 501, last: 500, after: time.Hour, want: true},
		{applied: 501, last: 500, after: 59 * time.Minute, want: false},
	} {
		if got := s.due(tc.applied, tc.last, at, at.Add(tc.after)); got != tc.want {
			t.Errorf("due(applied %d, last %d, %s later) = %v, want %v", tc.applied, tc.last, tc.after, got, tc.want)
		}
	}
	if (Schedule{}).due(10_000, 0, at, at.Add(24*time.Hour)) {
		t.Error("a schedule with neither interval nor count is due")
	}
}
