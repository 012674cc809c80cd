package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// streamLastSeq reads the catalog stream's last sequence from the
// monitoring port of a live NATS node.
func (c *cluster) streamLastSeq() uint64 {
	c.t.Helper()
	for _, node := range c.layout.NATSNodes() {
		res, err := http.Get(node.MonitorURL + "/jsz?streams=true")
		if err != nil {
			continue
		}
		var jsz struct {
			Accounts []struct {
				Streams []struct {
					Name  string
					State struct {
						LastSeq uint64 `json:"last_seq"`
					}
				} `json:"stream_detail"`
			} `json:"account_details"`
		}
		err = json.NewDecoder(res.Body).Decode(&jsz)
		res.Body.Close()
		if err != nil {
			continue
		}
		for _, a := range jsz.Accounts {
			for _, s := range a.Streams {
				if s.Name == "CATALOG" {
					return s.State.LastSeq
				}
			}
		}
	}
	c.t.Fatal("no NATS node reports the CATALOG stream")
	return 0
}

// writer creates products through HAProxy every interval until stop,
// counting the acknowledged (201) and the refused ones.
type writer struct {
	ok, failed atomic.Int64
	ids        sync.Map
	mu         sync.Mutex
	reasons    []string // why writes were refused, first few
	stop       chan struct{}
	done       chan struct{}
}

func (c *cluster) startWriter(token, word string, interval time.Duration) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-time.After(interval):
			}
			body := fmt.Sprintf(`{"name":"%s Gadget %d","brand":"Acme","status":"active","variants":[{"sku":"%s-%d","price":{"amount":1999,"currency":"EUR"},"stock":3}]}`, word, i, word, i)
			req, _ := http.NewRequest("POST", c.URL+"/api/products", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", word, i))
			sent := time.Now()
			res, err := client.Do(req)
			if err != nil {
				w.refused(fmt.Sprintf("%s after %v: %v", sent.Format("15:04:05.000"), time.Since(sent).Round(time.Millisecond), err))
				continue
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var p struct{ ID string }
			_ = json.Unmarshal(raw, &p)
			if res.StatusCode == 201 {
				w.ok.Add(1)
				w.ids.Store(p.ID, true)
			} else {
				w.refused(fmt.Sprintf("%s after %v: %d %s", sent.Format("15:04:05.000"), time.Since(sent).Round(time.Millisecond), res.StatusCode, raw))
			}
		}
	}()
	return w
}

func (w *writer) finish() { close(w.stop); <-w.done }

func (w *writer) refused(reason string) {
	w.failed.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.reasons) < 10 {
		w.reasons = append(w.reasons, reason)
	}
}

// testNATS: one NATS node killed, then the whole NATS cluster stopped for
// 30 s, under load and with writes going on. Writes succeed (the outbox
// keeps their events); once NATS is back every event reaches the stream
// exactly once, and search and analytics see every product.
func testNATS(c *cluster) {
	admin := c.login(adminEmail, adminPassword)
	before := c.streamLastSeq()
	var w *writer
	p := c.underLoad("one NATS node killed, then all three stopped for 30 s", rate, func() {
		w = c.startWriter(admin, "Natsfault", 250*time.Millisecond)
		c.proc(localcluster.Kill, "nats-a")
		time.Sleep(5 * time.Second)
		c.proc(localcluster.Stop, "nats-b")
		c.proc(localcluster.Stop, "nats-c")
		time.Sleep(30 * time.Second)
		for _, n := range c.layout.NATSNodes() {
			c.proc(localcluster.Start, n.Name)
		}
		eventually(c.t, 60*time.Second, "the NATS cluster is healthy again", func() bool {
			for _, node := range c.layout.NATSNodes() {
				res, err := http.Get(node.MonitorURL + "/healthz")
				if err != nil {
					return false
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					return false
				}
			}
			return true
		})
		time.Sleep(3 * time.Second)
		w.finish()
	})
	written := w.ok.Load()
	var seq uint64
	eventually(c.t, 60*time.Second, "every product event is on the stream", func() bool {
		seq = c.streamLastSeq()
		return seq-before >= uint64(written)
	})
	searched := c.waitSearchTotal("natsfault", int(written))
	var ids []string
	w.ids.Range(func(id, _ any) bool {
		ids = append(ids, id.(string))
		return true
	})
	known := c.analyticsKnows("natsfault", ids)
	p.outcome = fmt.Sprintf("%d failed reads; %d writes acknowledged, %d refused; %d catalog events on the stream for them; search finds %d; analytics knows %d",
		p.failures(), written, w.failed.Load(), seq-before, searched, known)
	record(p)
	// What this fault promises is about writes and events; failed reads
	// are recorded (docs/operations.md), not asserted.
	if w.failed.Load() != 0 {
		c.t.Errorf("%d refused writes:\n%s", w.failed.Load(), strings.Join(w.reasons, "\n"))
	}
	if seq-before != uint64(written) {
		c.t.Errorf("%d writes made %d catalog events (lost or doubled)", written, seq-before)
	}
}

// testCutOff: an instance whose link to NATS is cut (its connection goes
// through a relay the test freezes: no error, no packet) must not serve a
// changed product from its cache for longer than --catalog-stale-after.
func testCutOff(c *cluster) {
	admin := c.login(adminEmail, adminPassword)
	pgid, relayPort, relayExited := c.startRelay(c.layout.NATS("a").Addr("client"))
	defer func() {
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-relayExited
	}()
	n := c.cl.Config.Instances
	c.op(3*time.Minute, "start another product instance through the relay", func(ctx context.Context) error {
		return c.cl.StartInstance(ctx, "product", n+1, localcluster.InstanceOptions{NATSURL: fmt.Sprintf("nats://127.0.0.1:%d", relayPort)})
	})
	defer c.scale("product", n)
	product1, product3 := c.layout.Instance("product", 1).URL, c.layout.Instance("product", n+1).URL

	var p struct{ ID, Slug string }
	c.expect(201, "POST", "/api/products", admin, map[string]any{"name": "Cutoff Lamp", "brand": "Acme", "status": "active",
		"variants": []any{map[string]any{"sku": "CUT-1", "price": map[string]any{"amount": 2999, "currency": "EUR"}, "stock": 2}}}).json(c.t, &p)
	direct := func(instance string) (string, string) {
		r := c.do("GET", instance+"/api/products/"+p.Slug, "", nil)
		var got struct{ Description string }
		r.json(c.t, &got)
		return got.Description, r.Header.Get("ETag")
	}
	eventually(c.t, 5*time.Second, "product-3 serves the product", func() bool { _, tag := direct(product3); return tag != "" })
	_, etag := direct(product3) // now in its cache

	// Cut the link, then change the product on another instance.
	if err := syscall.Kill(-pgid, syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	r := c.do("PATCH", product1+"/api/products/"+p.ID, admin, map[string]string{"description": "Changed"},
		"If-Match", etag, "Content-Type", "application/merge-patch+json")
	if r.Status != 200 {
		c.t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	changed := time.Now()
	stale, polls := 0, 0
	for time.Since(changed) < 10*time.Second {
		polls++
		if d, _ := direct(product3); d == "Changed" {
			break
		}
		stale++
		time.Sleep(50 * time.Millisecond)
	}
	staleFor := time.Since(changed)
	fresh, _ := direct(product3)
	_ = syscall.Kill(-pgid, syscall.SIGCONT)
	res := phases{name: "product-3 cut off from NATS (link frozen), product changed elsewhere",
		outcome: fmt.Sprintf("served the old product for %.1f s (%d of %d reads), then the new one from the database; bound --catalog-stale-after 2s", staleFor.Seconds(), stale, polls)}
	record(res)
	c.t.Log(res.outcome)
	if fresh != "Changed" {
		c.t.Fatalf("product-3 still serves the old product %s after the change", staleFor)
	}
	// Bound 2 s, plus one probe interval and one probe timeout.
	if staleFor > 4*time.Second {
		c.t.Errorf("product-3 served a stale product for %s", staleFor)
	}
}

// startRelay starts socat relaying a loopback port to addr, in a process
// group of its own, and returns once the port accepts connections: the
// group's id, the port, and a channel closed once socat has exited. A port
// found free may be taken by one of the cluster's own connections before
// socat binds it; socat then exits, and another port is tried.
func (c *cluster) startRelay(addr string) (pgid, port int, exited <-chan struct{}) {
	c.t.Helper()
	for range 3 {
		port = testwait.FreePort(c.t)
		relay := exec.Command("socat", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port), "TCP:"+addr)
		relay.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := relay.Start(); err != nil {
			c.t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = relay.Wait(); close(done) }()
		if listening(port, done) {
			return relay.Process.Pid, port, done
		}
		_ = syscall.Kill(-relay.Process.Pid, syscall.SIGKILL)
		<-done
	}
	c.t.Fatal("socat did not listen on any of three ports")
	return 0, 0, nil
}

// listening waits up to 5 s for a loopback port to accept a connection,
// and gives up at once when its process exits (done).
func listening(port int, done <-chan struct{}) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			return false
		default:
		}
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			conn.Close()
			return true
		}
	}
	return false
}
