package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// drainGrace is how long requests still in flight when the run ends may
// take to finish (and be counted) before they are cut off and reported as
// unfinished. It keeps the run bounded when the server hangs.
const drainGrace = 2 * time.Second

// fdReserve is the descriptors the process needs besides its connections:
// stdio, the runtime's poller, a listener or two.
const fdReserve = 64

// Run drives the load that o describes and returns its report, writing a
// progress line to progress every second when it is a terminal and every
// five seconds otherwise. It returns an error only when the run cannot
// start (invalid options, a catalog it cannot sample, too few file
// descriptors); a run cut short by ctx still returns its report.
func Run(ctx context.Context, o Options, progress io.Writer) (*Report, error) {
	o.Target = strings.TrimRight(o.Target, "/")
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	pw, hosts, limit, err := prepare(o)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	pool := newClientPool(o.Conns, o.SourceAddrs, o.Timeout)
	defer pool.closeIdle()
	var work workload = pw
	if pw == nil {
		mw, err := discover(ctx, pool.clients[0], o)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		work = mw
	}

	m := chooseModel(o)
	start := time.Now()
	measureFrom := start.Add(o.Warmup)
	end := measureFrom.Add(o.Duration)
	rec := newRecorder(work.labels(), measureFrom)
	wr, err := writerFor(work, pool.clients[0], o, measureFrom)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	// runCtx ends the sending; reqCtx ends the requests, a little later, so
	// those in flight at the end can finish.
	runCtx, stopRun := context.WithDeadline(ctx, end)
	defer stopRun()
	reqCtx, cancelRequests := context.WithCancel(ctx)
	defer cancelRequests()
	l := &load{clients: pool, work: work, rec: rec, timeout: o.Timeout, reqCtx: reqCtx, fresh: wr.freshness()}
	wr.start(runCtx, o.WriteEvery)

	watch := startWatch(progress, rec, start, measureFrom)
	finished := make(chan struct{})
	var openSent, overdue int64
	go func() {
		defer close(finished)
		if m.open {
			openSent = runOpen(runCtx, l, o.Rate, m.workers, start, measureFrom, end)
		} else {
			overdue = runClosed(runCtx, l, m.users, m.workers, m.think)
		}
	}()

	stoppedAt := drain(runCtx, end, finished, cancelRequests, min(o.Timeout, drainGrace))
	peakFDs := watch.stop()

	r := buildReport(o, m, rec, work, start, measureFrom, stoppedAt)
	r.Freshness = wr.report(o.WriteEvery)
	r.Stopped = "duration"
	if ctx.Err() != nil {
		r.Stopped = "cancelled"
	}
	switch {
	case m.open:
		r.MissedSlots = max(0, slotsBetween(o.Rate, start, measureFrom, stoppedAt)-openSent)
	case m.think > 0:
		r.MissedSlots = overdue
	}
	// Back to back (no think time), a user is always due: those waiting
	// for a worker at the end were never late.
	r.Client = ClientReport{Workers: m.workers, Conns: o.Conns, Hosts: hosts, FDLimit: limit, PeakOpenFDs: peakFDs,
		SourceAddrs: len(o.SourceAddrs), SourceAddrsUsed: pool.addrsUsed()}
	return r, nil
}

// drain waits for the end of the sending (runCtx), then up to grace for
// the requests in flight to finish before cutting them off (cancel), and
// returns when the sending stopped: end, or earlier when cut short.
func drain(runCtx context.Context, end time.Time, finished <-chan struct{}, cancel func(), grace time.Duration) time.Time {
	<-runCtx.Done()
	stoppedAt := time.Now()
	if stoppedAt.After(end) {
		stoppedAt = end
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		cancel()
		<-finished
	}
	return stoppedAt
}

// prepare checks what a run needs before it starts: the fixed paths (nil
// without --path), the number of hosts and the open-file limit.
func prepare(o Options) (pw *pathWorkload, hosts int, limit int64, err error) {
	targets := []string{o.Target}
	if len(o.Paths) > 0 {
		if pw, err = newPathWorkload(o.Target, o.Paths); err != nil {
			return nil, 0, 0, err
		}
		targets = pw.urls
	}
	if len(o.SourceAddrs) > 0 {
		if err := checkLoopbackTargets(targets, o.SourceAddrs); err != nil {
			return nil, 0, 0, err
		}
	}
	hosts = countHosts(targets)
	limit = fdLimit()
	if need := int64(o.Conns*hosts + fdReserve); limit > 0 && need > limit {
		return nil, 0, 0, fmt.Errorf("--conns %d to %d host(s) needs about %d file descriptors, more than the open-file limit %d: lower --conns (and --source-addrs with it), or raise the limit (ulimit -n) where the hard limit allows",
			o.Conns, hosts, need, limit)
	}
	return pw, hosts, limit, nil
}

// model is how the load is generated, resolved from the options.
type model struct {
	open    bool
	users   int // closed model
	think   time.Duration
	workers int
}

func chooseModel(o Options) model {
	switch {
	case o.Rate > 0:
		return model{open: true, workers: o.workers()}
	case len(o.Paths) > 0:
		// Back to back, no think time: one user per worker, or per source
		// address when there are more, so that the requests of the
		// workers are spread over every address (as many clients', each
		// under a per-address rate limit) rather than over the first few.
		users := max(o.workers(), len(o.SourceAddrs))
		return model{users: users, workers: o.workers()}
	default:
		return model{users: o.Users, think: o.Think, workers: min(o.Users, o.workers())}
	}
}

func (m model) name() string {
	if m.open {
		return "open"
	}
	return "closed"
}

func countHosts(urls []string) int {
	hosts := map[string]bool{}
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil {
			hosts[u.Scheme+"://"+u.Host] = true
		}
	}
	return max(1, len(hosts))
}

// load is what every worker shares to send a request and record it.
type load struct {
	clients *clientPool
	work    workload
	rec     *recorder
	timeout time.Duration
	reqCtx  context.Context
	fresh   *freshness // nil: no writer
}

// do sends the next request of session s, due at intended, and records its
// latency from intended: time spent waiting for a worker or a connection is
// part of what the user waits for. A token refresh goes out first when the
// session needs one, and the action after it, in the same turn, also
// counts from intended: the shopper waits for both.
func (l *load) do(s *session, intended time.Time) {
	for {
		c := l.work.next(s, time.Now())
		sent := time.Now()
		status, err := send(l.reqCtx, s.client, c, s, l.timeout)
		if c.hot && err == nil && status == http.StatusOK && l.fresh != nil {
			l.fresh.observed(s.etag, sent)
		}
		latency := time.Since(intended)
		if err != nil && l.reqCtx.Err() != nil {
			l.rec.abandon(intended) // cut off by the end of the run, not the server's fault
			return
		}
		o := outcome{label: c.label, intended: intended, latency: latency, status: status, sessionStart: c.sessionStart}
		if err != nil {
			o.status, o.errKind, o.errText = 0, errorKind(err), err.Error()
		}
		l.rec.record(o)
		if !c.prelude {
			return
		}
	}
}
