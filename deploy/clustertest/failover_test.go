package clustertest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"
)

// statusWriter creates products through HAProxy every interval, keeping
// each answer's status, whether a refusal said when to retry, and the
// slowest answer.
type statusWriter struct {
	mu          sync.Mutex
	statuses    map[int]int
	noRetry     int // refusals without Retry-After
	slowest     time.Duration
	slowestFail time.Duration
	acked       []string
	stop, done  chan struct{}
}

func (c *cluster) startStatusWriter(token string, interval time.Duration) *statusWriter {
	w := &statusWriter{statuses: map[int]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-time.After(interval):
			}
			body := fmt.Sprintf(`{"name":"Failover Crate %d","brand":"Acme","status":"active","variants":[{"sku":"FO-%d","price":{"amount":999,"currency":"EUR"},"stock":1}]}`, i, i)
			req, _ := http.NewRequest("POST", c.URL+"/api/products", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			start := time.Now()
			res, err := client.Do(req)
			took := time.Since(start)
			w.mu.Lock()
			w.slowest = max(w.slowest, took)
			if err != nil {
				w.statuses[0]++
				w.slowestFail = max(w.slowestFail, took)
				w.mu.Unlock()
				continue
			}
			var p struct{ ID string }
			_ = jsonDecode(res, &p)
			w.statuses[res.StatusCode]++
			if res.StatusCode == 201 {
				w.acked = append(w.acked, p.ID)
			} else {
				w.slowestFail = max(w.slowestFail, took)
				if res.Header.Get("Retry-After") == "" {
					w.noRetry++
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *statusWriter) finish() { close(w.stop); <-w.done }

// testFailover: the primary stops under load with writes going on. Reads
// go on from the replica; writes are refused at once with 503 and
// Retry-After; the cluster's failover promotes the replica and writes
// resume with no Vitrine process restarted; no acknowledged write is lost.
func testFailover(c *cluster) {
	admin := c.login(adminEmail, adminPassword)
	var w *statusWriter
	var during map[int]int
	p := c.underLoad("PostgreSQL primary stopped, then the replica promoted", rate, func() {
		w = c.startStatusWriter(admin, 200*time.Millisecond)
		time.Sleep(3 * time.Second)
		c.proc(localcluster.Stop, "pg-primary")
		time.Sleep(10 * time.Second)
		w.mu.Lock()
		during = map[int]int{}
		for k, v := range w.statuses {
			during[k] = v
		}
		w.mu.Unlock()
		c.op(3*time.Minute, "failover", c.cl.Failover)
		// Writes resume once the pools reach the promoted server.
		eventually(c.t, 30*time.Second, "writes resume after the promotion", func() bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.statuses[201] > during[201]
		})
		time.Sleep(3 * time.Second)
		w.finish()
	})
	lost := 0
	for _, id := range w.acked {
		if c.do("GET", c.URL+"/api/products/"+id, "", nil).Status != 200 {
			lost++
		}
	}
	p.outcome = fmt.Sprintf("reads: %d failed; writes: %d acknowledged, refused %v (without Retry-After: %d), slowest refusal %s; %d acknowledged writes lost",
		p.failures(), len(w.acked), w.statuses, w.noRetry, w.slowestFail.Round(time.Millisecond), lost)
	record(p)
	c.t.Log(p.outcome)
	if lost != 0 {
		c.t.Errorf("%d acknowledged writes lost", lost)
	}
	if w.noRetry != 0 || w.statuses[0] != 0 || w.statuses[500] != 0 {
		c.t.Errorf("writes failed otherwise than with 503 and Retry-After: %v, %d without Retry-After", w.statuses, w.noRetry)
	}
}
