// Package edgepurge drops an edge cache's copies of answers by surrogate
// key: a PURGE request with the keys in its KeysHeader, sent to every
// edge (the Varnish of deploy/varnish/default.vcl answers with the number
// of objects it dropped in PurgedHeader).
//
// A purge that fails is retried a few times with backoff, then counted
// and given up: the edge's copies then live until their s-maxage, which
// is what bounds a lost purge.
package edgepurge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

const (
	// KeysHeader carries the keys of a purge, separated by spaces.
	KeysHeader = "Xkey-Purge"
	// PurgedHeader is the edge's count of the objects a purge dropped.
	PurgedHeader = "X-Purged"
	// MaxHeaderBytes bounds the keys of one purge request: Varnish refuses
	// a header over its http_req_hdr_len (8 KiB by default), so more keys
	// go in several requests.
	MaxHeaderBytes = 4096
)

// Config says where to purge and how hard to try.
type Config struct {
	URLs     []string      // the edges' base URLs (http://host:port)
	Attempts int           // tries per request; 0: 5
	Backoff  time.Duration // the longest wait before the second try, doubling after; 0: 50 ms
	Timeout  time.Duration // deadline of one try; 0: 2 s
	Client   *http.Client  // nil: a client of its own
	// Breakers, when set, give each edge a circuit breaker: an edge that
	// stops answering (its zone cut off) fails its purges at once once
	// its breaker opens, instead of holding every purge, and so every
	// other edge's next one, for its tries' deadlines.
	Breakers *resilience.Breakers

	Registerer prometheus.Registerer // nil: no metrics
}

// Purger sends purges to every edge.
type Purger struct {
	cfg      Config
	client   *http.Client
	breakers map[string]*resilience.Breaker // by base URL; empty without Config.Breakers

	purges  *prometheus.CounterVec // by result: ok, failed
	retries prometheus.Counter
	objects prometheus.Counter
	lag     prometheus.Histogram
}

// New returns a purger for cfg's edges.
func New(cfg Config) (*Purger, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("edgepurge: no edge URL")
	}
	for i, raw := range cfg.URLs {
		u, err := CheckURL(raw)
		if err != nil {
			return nil, err
		}
		cfg.URLs[i] = u
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 50 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	p := &Purger{cfg: cfg, client: cfg.Client, breakers: map[string]*resilience.Breaker{}}
	if cfg.Breakers != nil {
		for _, base := range cfg.URLs {
			p.breakers[base] = cfg.Breakers.Breaker("edge-purge "+base, resilience.Deadline(cfg.Timeout))
		}
	}
	if p.client == nil {
		p.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}
	}
	p.purges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vitrine_edge_purges_total",
		Help: "Purge requests to an edge cache by result: ok, or failed after every retry (the edge's copies then live until their s-maxage).",
	}, []string{"result"})
	p.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vitrine_edge_purge_retries_total", Help: "Purge requests to an edge cache tried again after a failure.",
	})
	p.objects = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vitrine_edge_purged_objects_total", Help: "Cached answers the edge caches reported dropped by purges.",
	})
	p.lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "vitrine_edge_purge_lag_seconds",
		Help:    "Time from a catalog change to the end of its purge on every edge cache.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	p.purges.WithLabelValues("ok")
	p.purges.WithLabelValues("failed")
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.purges, p.retries, p.objects, p.lag} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// CheckURL returns raw, an edge's base URL, without a trailing slash, or
// an error naming what is wrong with it. It never shows the URL's
// password, if any.
func CheckURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("edgepurge: %q is not an http:// or https:// URL of an edge", redact(raw, u))
	}
	return strings.TrimSuffix(raw, "/"), nil
}

func redact(raw string, u *url.URL) string {
	if u == nil {
		return "(unparsable)"
	}
	if _, ok := u.User.Password(); ok {
		return u.Redacted()
	}
	return raw
}

// Purge drops the edges' copies of every answer carrying one of keys,
// on every edge at once, each request retried on failure. changedAt is
// when the change happened, for the lag metric (zero: not measured). It
// returns an error naming the edges a purge could not reach.
func (p *Purger) Purge(ctx context.Context, changedAt time.Time, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	chunks := chunk(keys, MaxHeaderBytes)
	errs := make([]error, len(p.cfg.URLs))
	var wg sync.WaitGroup
	for i, base := range p.cfg.URLs {
		wg.Go(func() {
			for _, c := range chunks {
				if err := p.purgeOne(ctx, base, c); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil && !changedAt.IsZero() {
		p.lag.Observe(time.Since(changedAt).Seconds())
	}
	return err
}

// purgeOne sends one purge request to the edge at base, retrying it.
func (p *Purger) purgeOne(ctx context.Context, base, keys string) error {
	tries := 0
	send := func(ctx context.Context) error { return p.send(ctx, base, keys) }
	if b := p.breakers[base]; b != nil {
		send = func(ctx context.Context) error {
			return b.Do(ctx, func(ctx context.Context) error { return p.send(ctx, base, keys) })
		}
	}
	// An open breaker ends the tries at once (resilience.Retry).
	err := resilience.Retry(ctx, p.cfg.Attempts, p.cfg.Backoff, func(ctx context.Context) error {
		if tries++; tries > 1 {
			p.retries.Inc()
		}
		return send(ctx)
	})
	if err != nil {
		p.purges.WithLabelValues("failed").Inc()
		return fmt.Errorf("edge purge %s: %w", base, err)
	}
	p.purges.WithLabelValues("ok").Inc()
	return nil
}

func (p *Purger) send(ctx context.Context, base, keys string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "PURGE", base+"/", nil)
	if err != nil {
		return resilience.Permanent(err)
	}
	req.Header[KeysHeader] = []string{keys}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusOK:
		if n, err := strconv.Atoi(resp.Header.Get(PurgedHeader)); err == nil && n > 0 {
			p.objects.Add(float64(n))
		}
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("the edge answered %s", resp.Status)
	}
	// Refused (403: this address is not among the edge's purgers): trying
	// again would not change it.
	return resilience.Permanent(fmt.Errorf("the edge refused the purge: %s", resp.Status))
}

// chunk joins keys with spaces into strings of at most limit bytes (a
// key longer than limit goes alone).
func chunk(keys []string, limit int) []string {
	var out []string
	var b strings.Builder
	for _, k := range keys {
		if b.Len() > 0 && b.Len()+1+len(k) > limit {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}
