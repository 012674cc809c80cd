package bench

import (
	"testing"
	"time"
)

// TestFreshnessCountsReadsSentAfterANewerVersion: a read is stale when it
// was sent after a newer version than the one it saw was acknowledged,
// by the time since that acknowledgement; reads before the window, and
// reads of the newest version, are not.
func TestFreshnessCountsReadsSentAfterANewerVersion(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f := newFreshness(t0)
	f.acknowledged(2, t0.Add(time.Second))
	f.acknowledged(3, t0.Add(2*time.Second))
	f.observed(`"1.x"`, t0.Add(-time.Second))            // before the window: not counted
	f.observed(`"1.x"`, t0.Add(500*time.Millisecond))    // before version 2's ack: fresh
	f.observed(`"1.x"`, t0.Add(1100*time.Millisecond))   // 100 ms after version 2's
	f.observed(`"2.x"`, t0.Add(1500*time.Millisecond))   // the newest then
	f.observed(`"1.x"`, t0.Add(2500*time.Millisecond))   // 1.5 s after version 2's
	f.observed(`W/"3.x"`, t0.Add(3*time.Second))         // the newest
	f.observed(`"not-a-version"`, t0.Add(3*time.Second)) // no version: counted apart
	r := f.report("p", time.Second)
	if r.Reads != 5 || r.StaleReads != 2 || r.StaleOver1s != 1 || r.Unparsed != 1 {
		t.Fatalf("reads %d, stale %d, over 1 s %d, unparsed %d; want 5, 2, 1, 1", r.Reads, r.StaleReads, r.StaleOver1s, r.Unparsed)
	}
	if r.StaleMaxUs != 1_500_000 || r.StaleP99Us != 1_500_000 {
		t.Errorf("staleness p99 %d µs, max %d µs; want 1,500,000 both", r.StaleP99Us, r.StaleMaxUs)
	}
	if r.Writes != 2 {
		t.Errorf("%d writes, want 2", r.Writes)
	}
}

// TestTheWriterChangesAProductTheShoppersRead: with --write-every, a
// product of the sample is changed on its period by the writer's account,
// shoppers read it, and the report says how stale those reads were: none
// when the server answers every change at once, and, when its reads lag
// the writes by 300 ms, stale reads none of which was sent much later than
// that after the change it missed.
func TestTheWriterChangesAProductTheShoppersRead(t *testing.T) {
	for _, lag := range []time.Duration{0, 300 * time.Millisecond} {
		catalog := &fakeCatalog{email: "admin@example.com", password: "s3cret", readLag: lag}
		srv := startFakeCatalog(t, catalog)
		o := testOptions(srv.URL, 1500*time.Millisecond)
		o.Users, o.Think = 16, 5*time.Millisecond
		o.Mix = Mix{Product: 1}
		o.WriteEvery = 100 * time.Millisecond
		o.WriterEmail, o.WriterPassword = catalog.email, catalog.password

		r := mustRun(t, o)
		f := r.Freshness
		if f == nil {
			t.Fatalf("lag %s: the report has no freshness", lag)
		}
		if f.Writes < 5 || f.WriteErrors != 0 || catalog.count("write") != int(f.Writes) {
			t.Errorf("lag %s: %d writes (%d failed), the server saw %d; want at least 5, none failed, the same count",
				lag, f.Writes, f.WriteErrors, catalog.count("write"))
		}
		if f.Reads < 20 || f.Unparsed != 0 {
			t.Errorf("lag %s: %d reads of the changed product (%d without a version); want at least 20, all with one", lag, f.Reads, f.Unparsed)
		}
		switch {
		case lag == 0 && f.StaleReads != 0:
			t.Errorf("no lag: %d stale reads, want none", f.StaleReads)
		case lag > 0 && f.StaleReads == 0:
			t.Errorf("lag %s: no stale read counted", lag)
		case lag > 0 && time.Duration(f.StaleMaxUs)*time.Microsecond > lag+250*time.Millisecond:
			t.Errorf("lag %s: a read counted stale %d µs after the change, far past the lag", lag, f.StaleMaxUs)
		}
	}
}
