package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
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

// testSwitchover: a planned switchover through Patroni ("make
// cluster-failover") under load, with writes going on. The leader hands
// over to its synchronous standby; Vitrine finds the new leader through
// target_session_attrs, with no process restarted. No read fails, no
// acknowledged write is lost, and writes go on afterwards.
func testSwitchover(c *cluster) {
	admin := c.login(adminEmail, adminPassword)
	var w *statusWriter
	var leaders [2]string
	var resumed time.Duration
	p := c.underLoad("PostgreSQL switchover (Patroni)", rate, func() {
		w = c.startStatusWriter(admin, 200*time.Millisecond)
		time.Sleep(3 * time.Second)
		leaders[0] = c.cl.PostgresLeader(context.Background())
		start := time.Now()
		c.op(3*time.Minute, "switchover", c.cl.Switchover)
		leaders[1] = c.cl.PostgresLeader(context.Background())
		w.mu.Lock()
		done := w.statuses[201]
		w.mu.Unlock()
		eventually(c.t, 30*time.Second, "writes go on after the switchover", func() bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.statuses[201] > done
		})
		resumed = time.Since(start)
		time.Sleep(3 * time.Second)
		w.finish()
	})
	lost := 0
	for _, id := range w.acked {
		if c.do("GET", c.URL+"/api/products/"+id, "", nil).Status != 200 {
			lost++
		}
	}
	p.outcome = fmt.Sprintf("leader %s, then %s; reads: %d failed; writes: %d acknowledged, others %v (without Retry-After: %d), slowest refusal %s, writing again %s after the switchover began; %d acknowledged writes lost",
		leaders[0], leaders[1], p.failures(), len(w.acked), w.statuses, w.noRetry, w.slowestFail.Round(time.Millisecond), resumed.Round(100*time.Millisecond), lost)
	record(p)
	c.t.Log(p.outcome)
	if leaders[0] == leaders[1] {
		c.t.Errorf("the leader stayed %s", leaders[0])
	}
	if p.failures() != 0 {
		c.t.Errorf("%d reads failed", p.failures())
	}
	if lost != 0 {
		c.t.Errorf("%d acknowledged writes lost", lost)
	}
	if w.noRetry != 0 || w.statuses[0] != 0 || w.statuses[500] != 0 {
		c.t.Errorf("writes failed otherwise than with 503 and Retry-After: %v, %d without Retry-After", w.statuses, w.noRetry)
	}
}
