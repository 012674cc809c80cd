package bench

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// fdSampleEvery is how often the open descriptors are counted for the
// report's peak.
const fdSampleEvery = 250 * time.Millisecond

// watch prints the progress line and samples open file descriptors while a
// run goes on.
type watch struct {
	stopc chan struct{}
	done  chan struct{}
	peak  int64 // written by the watch goroutine, read after done
}

// startWatch prints progress to w (if not nil): every second on a
// terminal, every five seconds otherwise (a log file needs fewer lines).
func startWatch(w io.Writer, rec *recorder, start, measureFrom time.Time) *watch {
	every := 5 * time.Second
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		every = time.Second
	}
	wt := &watch{stopc: make(chan struct{}), done: make(chan struct{}), peak: openFDs()}
	go func() {
		defer close(wt.done)
		sample := time.NewTicker(fdSampleEvery)
		defer sample.Stop()
		report := time.NewTicker(every)
		defer report.Stop()
		last, lastAt := int64(0), start
		for {
			select {
			case <-wt.stopc:
				wt.peak = max(wt.peak, openFDs())
				return
			case <-sample.C:
				wt.peak = max(wt.peak, openFDs())
			case now := <-report.C:
				if w == nil {
					continue
				}
				finished := rec.finished.Load()
				rate := float64(finished-last) / now.Sub(lastAt).Seconds()
				last, lastAt = finished, now
				p99, phase := "-", " (warm-up)"
				if !now.Before(measureFrom) {
					p99, phase = formatLatency(rec.p99()), ""
				}
				fmt.Fprintf(w, "bench: %5s  %8.0f req/s  p99 %-8s  errors %d%s\n",
					now.Sub(start).Round(time.Second), rate, p99, rec.failed.Load(), phase)
			}
		}
	}()
	return wt
}

// stop ends the watch and returns the peak of open descriptors seen.
func (wt *watch) stop() int64 {
	close(wt.stopc)
	<-wt.done
	return wt.peak
}
