package bench

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// runClosed is the closed model: users, each sending one request at a time
// and thinking between requests. A user is not a goroutine but an entry in
// a heap ordered by wake-up time; one scheduler hands due users to a fixed
// pool of workers, so a hundred thousand thinking users cost a few
// megabytes, and only the workers (at most one request each) hold
// connections.
//
// A user due while every worker is busy waits, and that wait counts in its
// latency, as the wait for a free connection behind a load balancer would.
// It returns how many users were due before the end but never got a
// worker: the requests the target was too slow to even receive.
func runClosed(runCtx context.Context, l *load, users, workers int, think time.Duration) (overdue int64) {
	sessions := make([]session, users)
	for i := range sessions {
		sessions[i].client = l.clients.forUser(i)
	}
	due := make(wakeHeap, users)
	now := time.Now()
	for i := range due {
		// The residual of an exponential think time is exponential with
		// the same mean, so this is the steady state from the first second.
		due[i] = wakeup{at: now.Add(thinkTime(think)), user: int32(i)}
	}
	heap.Init(&due)

	ready := make(chan wakeup)
	back := make(chan wakeup, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for w := range ready {
				l.do(&sessions[w.user], w.at)
				w.at = time.Now().Add(thinkTime(think))
				select {
				case back <- w:
				case <-runCtx.Done():
					return
				}
			}
		})
	}
	schedule(runCtx, &due, ready, back)
	wg.Wait()
	stop := time.Now()
	for _, w := range due {
		if w.at.Before(stop) {
			overdue++
		}
	}
	return overdue
}

// schedule hands users to workers as they fall due and takes them back
// when their request is done, until ctx ends; then it closes ready.
func schedule(ctx context.Context, due *wakeHeap, ready chan<- wakeup, back <-chan wakeup) {
	defer close(ready)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Hour // every user is busy: wait for one to come back
		if due.Len() > 0 {
			wait = time.Until((*due)[0].at)
		}
		if wait <= 0 {
			select {
			case ready <- (*due)[0]:
				heap.Pop(due)
			case w := <-back:
				heap.Push(due, w)
			case <-ctx.Done():
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case w := <-back:
			heap.Push(due, w)
		case <-ctx.Done():
			return
		}
	}
}

func thinkTime(mean time.Duration) time.Duration {
	if mean <= 0 {
		return 0
	}
	return time.Duration(rand.ExpFloat64() * float64(mean))
}

// wakeup is when a user next acts.
type wakeup struct {
	at   time.Time
	user int32
}

// wakeHeap is a min-heap of wakeups (container/heap).
type wakeHeap []wakeup

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h wakeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(x any)        { *h = append(*h, x.(wakeup)) }
func (h *wakeHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}
