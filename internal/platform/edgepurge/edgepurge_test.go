package edgepurge

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// edge is a stand-in for Varnish's PURGE handling: it records the keys
// it was asked to purge, failing the first fail requests with 503 and
// refusing every one when refuse is set.
type edge struct {
	*httptest.Server
	mu     sync.Mutex
	keys   []string
	fail   atomic.Int32
	refuse bool
}

func newEdge(t *testing.T) *edge {
	e := &edge{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != "PURGE" || r.URL.Path != "/":
			http.Error(w, "not a purge", http.StatusBadRequest)
		case e.refuse:
			http.Error(w, "Forbidden", http.StatusForbidden)
		case e.fail.Add(-1) >= 0:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			e.mu.Lock()
			e.keys = append(e.keys, r.Header.Get("xkey-purge"))
			e.mu.Unlock()
			w.Header().Set("X-Purged", "2")
		}
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *edge) purged() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.keys...)
}

func newPurger(t *testing.T, urls ...string) (*Purger, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := New(Config{URLs: urls, Backoff: time.Millisecond, Attempts: 3, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

// Every edge gets the purge; one that fails for a moment gets it on a
// retry; the lag is measured from the change.
func TestPurgeReachesEveryEdge(t *testing.T) {
	a, b := newEdge(t), newEdge(t)
	b.fail.Store(2)
	p, _ := newPurger(t, a.URL, b.URL+"/")
	if err := p.Purge(context.Background(), time.Now().Add(-time.Second), "p:1", "listings"); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*edge{"a": a, "b": b} {
		if got := e.purged(); len(got) != 1 || got[0] != "p:1 listings" {
			t.Errorf("edge %s purged %q", name, got)
		}
	}
	if got := testutil.ToFloat64(p.purges.WithLabelValues("ok")); got != 2 {
		t.Errorf("ok purges %v, want 2", got)
	}
	if got := testutil.ToFloat64(p.retries); got != 2 {
		t.Errorf("retries %v, want 2", got)
	}
	if got := testutil.ToFloat64(p.objects); got != 4 {
		t.Errorf("purged objects %v, want 4", got)
	}
	if n := testutil.CollectAndCount(p.lag); n != 1 {
		t.Errorf("lag metric: %d series", n)
	}
}

// An edge down past the retries, or one that refuses this purger, is a
// failed purge, counted; a refusal is not retried.
func TestPurgeFailuresAreCounted(t *testing.T) {
	down := newEdge(t)
	down.fail.Store(100)
	refusing := newEdge(t)
	refusing.refuse = true
	p, _ := newPurger(t, down.URL, refusing.URL)
	err := p.Purge(context.Background(), time.Time{}, "p:1")
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("error %v, want both edges' failures", err)
	}
	if got := testutil.ToFloat64(p.purges.WithLabelValues("failed")); got != 2 {
		t.Errorf("failed purges %v, want 2", got)
	}
	if got := testutil.ToFloat64(p.retries); got != 2 {
		t.Errorf("retries %v, want 2 (the refusal is not retried)", got)
	}
	if left := down.fail.Load(); left != 97 {
		t.Errorf("the down edge got %d tries, want 3", 100-left)
	}
}

// An edge that stops answering (a listener whose process is frozen:
// connections are accepted, nothing is read) trips its breaker: its
// purges then fail at once, without reaching it, and the edge that
// answers goes on getting every purge.
func TestAFrozenEdgeTripsItsBreaker(t *testing.T) {
	frozen, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer frozen.Close()
	var accepted atomic.Int32
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := frozen.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	live := newEdge(t)
	breakers := resilience.NewBreakers(resilience.Policy{Timeout: time.Second, FailureRatio: 0.5, MinRequests: 3,
		Window: time.Minute, OpenFor: time.Minute}, slog.New(slog.DiscardHandler))
	p, err := New(Config{URLs: []string{"http://" + frozen.Addr().String(), live.URL}, Attempts: 3, Backoff: time.Millisecond,
		Timeout: 50 * time.Millisecond, Breakers: breakers,
		// One connection per try: each try that reaches the frozen edge is one it accepted.
		Client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
	if err != nil {
		t.Fatal(err)
	}
	// Three tries time out and open the breaker.
	if err := p.Purge(context.Background(), time.Time{}, "p:1"); err == nil {
		t.Fatal("a purge of a frozen edge succeeded")
	}
	reached := accepted.Load()
	if reached != 3 {
		t.Fatalf("the frozen edge was tried %d times, want 3", reached)
	}
	for i := range 5 {
		err := p.Purge(context.Background(), time.Time{}, "p:"+strconv.Itoa(i+2))
		if !errors.Is(err, resilience.ErrOpen) {
			t.Fatalf("purge %d: %v, want the frozen edge's breaker open", i+2, err)
		}
	}
	if n := accepted.Load(); n != reached {
		t.Errorf("the frozen edge was tried %d more times with its breaker open", n-reached)
	}
	if got := live.purged(); len(got) != 6 {
		t.Errorf("the live edge got %d purges, want all 6: %q", len(got), got)
	}
}

// Many keys go in several requests, each under Varnish's header limit.
func TestPurgeSplitsLongKeyLists(t *testing.T) {
	e := newEdge(t)
	p, _ := newPurger(t, e.URL)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "p:0190b6a0-0000-7000-8000-" + strings.Repeat("0", 12-len(strconv.Itoa(i))) + strconv.Itoa(i)
	}
	if err := p.Purge(context.Background(), time.Time{}, keys...); err != nil {
		t.Fatal(err)
	}
	got := e.purged()
	if len(got) < 10 {
		t.Fatalf("%d requests for 1000 keys", len(got))
	}
	var all []string
	for _, h := range got {
		if len(h) > MaxHeaderBytes {
			t.Errorf("a request of %d bytes of keys", len(h))
		}
		all = append(all, strings.Fields(h)...)
	}
	if strings.Join(all, " ") != strings.Join(keys, " ") {
		t.Error("the requests do not carry every key once, in order")
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"varnish:6081", "ftp://varnish", "http://", "http://user:secret@[::1"} {
		_, err := New(Config{URLs: []string{u}})
		if err == nil {
			t.Errorf("%q accepted", u)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error shows the password: %v", u, err)
		}
	}
}
