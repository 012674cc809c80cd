package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The writer (--write-every) changes one product of the sample, the hot
// product, on a fixed period while the shoppers browse, and one product
// view in hotOdds reads that product. Each read of it says which version
// it saw (the version leads the product's ETag); a read sent after a newer
// version was acknowledged is stale, for as long as it was sent after that
// acknowledgement. That is what a shopper waits, at worst, to see a change
// through every cache between it and the database: the edge's, the
// instances' own.
const hotOdds = 10

// freshness records the writer's acknowledged versions and the shoppers'
// reads of the hot product.
type freshness struct {
	measureFrom time.Time

	mu          sync.Mutex
	acked       []ack // ascending versions
	writes      int64
	writeErrors int64
	reads       int64           // reads of the hot product sent in the measured window
	staleness   []time.Duration // of the stale ones among them
	unparsed    int64           // answers without a product ETag
}

type ack struct {
	version int64
	at      time.Time
}

func newFreshness(measureFrom time.Time) *freshness { return &freshness{measureFrom: measureFrom} }

// acknowledged records that the write of version was acknowledged at at.
func (f *freshness) acknowledged(version int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if n := len(f.acked); n == 0 || f.acked[n-1].version < version {
		f.acked = append(f.acked, ack{version, at})
	}
}

func (f *freshness) failed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeErrors++
}

// observed records a read of the hot product sent at sent that answered
// with etag. Stale: some version above the one read was acknowledged
// before sent; its staleness is sent less the first such acknowledgement.
func (f *freshness) observed(etag string, sent time.Time) {
	if sent.Before(f.measureFrom) {
		return
	}
	version, ok := etagVersion(etag)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !ok {
		f.unparsed++
		return
	}
	f.reads++
	i, _ := slices.BinarySearchFunc(f.acked, version+1, func(a ack, v int64) int { return int(a.version - v) })
	if i < len(f.acked) && f.acked[i].at.Before(sent) {
		f.staleness = append(f.staleness, sent.Sub(f.acked[i].at))
	}
}

// etagVersion reads the version that leads a product's entity tag
// ("3.hash").
func etagVersion(tag string) (int64, bool) {
	tag = strings.Trim(strings.TrimPrefix(tag, "W/"), `"`)
	num, _, found := strings.Cut(tag, ".")
	v, err := strconv.ParseInt(num, 10, 64)
	return v, found && err == nil && v > 0
}

// FreshnessReport is what the writer did and how stale the shoppers' reads
// of its product were.
type FreshnessReport struct {
	Product      string  `json:"product"`
	EverySeconds float64 `json:"every_s"`
	Writes       int64   `json:"writes"`
	WriteErrors  int64   `json:"write_errors"`
	Reads        int64   `json:"reads"`          // of the hot product, in the measured window
	StaleReads   int64   `json:"stale_reads"`    // sent after a newer version was acknowledged
	StaleOver1s  int64   `json:"stale_over_1s"`  // of those, sent more than a second after it
	StaleP99Us   int64   `json:"stale_p99_us"`   // over the stale reads
	StaleMaxUs   int64   `json:"stale_max_us"`   //
	Unparsed     int64   `json:"unparsed_reads"` // answers without a product ETag
}

func (f *freshness) report(product string, every time.Duration) *FreshnessReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &FreshnessReport{Product: product, EverySeconds: every.Seconds(), Writes: f.writes, WriteErrors: f.writeErrors,
		Reads: f.reads, StaleReads: int64(len(f.staleness)), Unparsed: f.unparsed}
	if len(f.staleness) > 0 {
		s := slices.Clone(f.staleness)
		slices.Sort(s)
		r.StaleP99Us = s[(len(s)*99)/100].Microseconds()
		r.StaleMaxUs = s[len(s)-1].Microseconds()
		for _, d := range s {
			if d > time.Second {
				r.StaleOver1s++
			}
		}
	}
	return r
}

// writerFor is the writer of a run with --write-every, nil without: it
// picks the hot product (the sample's first with an id), logs the writer
// in, and points one product view in hotOdds at that product.
func writerFor(work workload, client *http.Client, o Options, measureFrom time.Time) (*writer, error) {
	mw, ok := work.(*mixWorkload)
	if !ok || o.WriteEvery <= 0 {
		return nil, nil
	}
	for _, p := range mw.products {
		if p.id == "" {
			continue
		}
		wr := &writer{client: client, base: o.Target, product: p.id, email: o.WriterEmail, password: o.WriterPassword,
			timeout: o.Timeout, fresh: newFreshness(measureFrom)}
		if err := wr.login(context.Background()); err != nil {
			return nil, fmt.Errorf("--write-every: %w", err)
		}
		mw.hot = p.id
		return wr, nil
	}
	return nil, fmt.Errorf("--write-every: the sample holds no product with an id to change")
}

// writer changes the hot product every period until ctx ends, as an admin
// (its credentials, logging in again when its token is refused).
type writer struct {
	client          *http.Client
	base            string
	product         string // id
	email, password string
	timeout         time.Duration
	fresh           *freshness
	token           string
}

// freshness is what the shoppers' reads are checked against; nil without
// a writer.
func (wr *writer) freshness() *freshness {
	if wr == nil {
		return nil
	}
	return wr.fresh
}

// start changes the product every period until ctx ends; nothing without
// a writer.
func (wr *writer) start(ctx context.Context, every time.Duration) {
	if wr != nil {
		go wr.run(ctx, every)
	}
}

// report is the run's freshness report; nil without a writer.
func (wr *writer) report(every time.Duration) *FreshnessReport {
	if wr == nil {
		return nil
	}
	return wr.fresh.report(wr.product, every)
}

func (wr *writer) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := wr.write(ctx, n); err != nil && ctx.Err() == nil {
			wr.fresh.failed()
		}
	}
}

// write changes the product's description once; a refused token logs in
// again and tries once more.
func (wr *writer) write(ctx context.Context, n int) error {
	body, _ := json.Marshal(map[string]string{"description": fmt.Sprintf("Changed by vitrine bench, write %d", n)}) // cannot fail
	for attempt := 0; attempt < 2; attempt++ {
		if wr.token == "" {
			if err := wr.login(ctx); err != nil {
				return err
			}
		}
		status, etag, err := wr.do(ctx, http.MethodPatch, wr.base+"/api/products/"+url.PathEscape(wr.product), body,
			"application/merge-patch+json")
		switch {
		case err != nil:
			return err
		case status == http.StatusUnauthorized:
			wr.token = ""
			continue
		case status != http.StatusOK:
			return fmt.Errorf("PATCH of the hot product answered %d", status)
		}
		v, ok := etagVersion(etag)
		if !ok {
			return fmt.Errorf("PATCH of the hot product answered ETag %q, not a product's", etag)
		}
		wr.fresh.acknowledged(v, time.Now())
		return nil
	}
	return fmt.Errorf("the writer's token was refused after a new login")
}

// login logs the writer in as a session's login does (send keeps the
// access token it answers).
func (wr *writer) login(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"email": wr.email, "password": wr.password}) // cannot fail
	var s session
	status, err := send(ctx, wr.client, call{method: http.MethodPost, url: wr.base + "/api/auth/login", body: body, tokens: true}, &s, wr.timeout)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("the writer's login answered %d", status)
	}
	wr.token = s.access
	return nil
}

func (wr *writer) do(ctx context.Context, method, u string, body []byte, contentType string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, wr.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+wr.token)
	resp, err := wr.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("ETag"), nil
}
