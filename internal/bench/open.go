package bench

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// runOpen is the open model: request i is due at start + i/rate whatever
// the server does. Workers take the next slot, wait for its time, send, and
// record the latency from the slot's time, not from when they got round to
// sending it: when the server stalls, the requests that should have gone
// out meanwhile carry the stall in their latency (no coordinated omission).
// It returns how many requests due in the measured window were sent.
func runOpen(runCtx context.Context, l *load, rate float64, workers int, start, measureFrom, end time.Time) (sent int64) {
	var next, inWindow atomic.Int64
	interval := float64(time.Second) / rate
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			s := session{client: l.clients.forUser(i)}
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for {
				intended := start.Add(time.Duration(float64(next.Add(1)-1) * interval))
				if !intended.Before(end) {
					return
				}
				if wait := time.Until(intended); wait > 0 {
					timer.Reset(wait)
					select {
					case <-timer.C:
					case <-runCtx.Done():
						return
					}
				} else if runCtx.Err() != nil {
					return
				}
				if !intended.Before(measureFrom) {
					inWindow.Add(1)
				}
				l.do(&s, intended)
			}
		})
	}
	wg.Wait()
	return inWindow.Load()
}

// slotsBetween counts the slots start + i/rate that fall in [from, to).
func slotsBetween(rate float64, start, from, to time.Time) int64 {
	if !from.Before(to) {
		return 0
	}
	slotsBefore := func(t time.Time) int64 {
		return int64(math.Ceil(t.Sub(start).Seconds() * rate))
	}
	return slotsBefore(to) - slotsBefore(from)
}
