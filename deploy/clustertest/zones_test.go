package clustertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"
	"github.com/vitrine-dev/vitrine/internal/bench"
)

// The zone tests lose the zone that holds the PostgreSQL leader, the Redis
// primary and the active balancer, under a steady load of reads (vitrine
// bench from 64 addresses) and writes (writers that record every
// acknowledged product), and bring it back with nothing typed. What they
// measure goes to the report and docs/operations.md.

// zoneRate is the reads' rate during the zone tests: at 99.9 %, a window
// of a minute allows some twenty failed reads.
const zoneRate = 300

// zoneLost is how long the zone stays lost: past every part's failover,
// as a cut that lasts.
const zoneLost = 40 * time.Second

// A zoneFault loses a zone and brings it back.
type zoneFault struct {
	name       string // "frozen", "killed"
	lose, back func(zone string) error
}

func testZoneFrozen(c *cluster) {
	c.zoneTest(zoneFault{"frozen (SIGSTOP of every process)", c.cl.FreezeZone, c.cl.ThawZone})
}

func testZoneKilled(c *cluster) {
	start := func(z string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		return c.cl.StartZone(ctx, z)
	}
	c.zoneTest(zoneFault{"killed (SIGKILL of every process), then started", c.cl.KillZone, start})
}

// zoneResult is what one zone test measured.
type zoneResult struct {
	zone                       string
	failover                   map[string]time.Duration // each part's new leader, from the loss
	standbyUntil               time.Duration            // until then, every PostgreSQL server outside the zone said it was a standby
	firstWrite                 time.Duration            // the first write acknowledged after the loss
	untilLeaders, sinceLeaders bench.Report             // reads: from the loss until every new leader is in place; after
	healthyAfter               time.Duration            // from the zone's return to every member healthy
	window                     time.Duration
}

func (r zoneResult) reads() (sent, failed int64) {
	return r.untilLeaders.Requests + r.sinceLeaders.Requests, r.untilLeaders.Errors + r.sinceLeaders.Errors
}

func (c *cluster) zoneTest(f zoneFault) {
	t := c.t
	z := c.gatherLeaders()
	admin := c.login(adminEmail, adminPassword)
	word := "Zone" + strings.Fields(f.name)[0]
	streamBefore := c.streamLastSeq()
	w := c.startAckWriter(admin, word, 4)
	load := c.startLoad(zoneRate, 10*time.Minute)
	time.Sleep(5 * time.Second)

	r := zoneResult{zone: z}
	if err := f.lose(z); err != nil {
		t.Fatal(err)
	}
	// From the moment nothing of the zone runs: a write sent before may
	// have been acknowledged by its leader as the signals went out.
	lost := time.Now()
	r.failover, r.standbyUntil = c.waitNewLeaders(z, lost, time.Minute)
	r.firstWrite = w.firstAckAfter(lost, time.Minute)
	r.untilLeaders = load.stop(t)
	t.Logf("zone %s lost: failover %s; first write acknowledged %s after; reads %s; errors by status %v, transport %v %v",
		z, fmtFailover(r.failover), r.firstWrite.Round(100*time.Millisecond), fmtPhase(r.untilLeaders),
		r.untilLeaders.ErrorsByStatus, r.untilLeaders.TransportErrors, r.untilLeaders.TransportErrorSamples)
	load = c.startLoad(zoneRate, 10*time.Minute)
	time.Sleep(time.Until(lost.Add(zoneLost)))
	back := time.Now()
	if err := f.back(z); err != nil {
		t.Fatal(err)
	}
	r.healthyAfter = c.waitHealthy(back, 3*time.Minute)
	t.Logf("zone %s back: every member healthy %s after", z, r.healthyAfter.Round(100*time.Millisecond))
	time.Sleep(5 * time.Second)
	r.sinceLeaders = load.stop(t)
	r.window = time.Since(lost)
	w.finish()

	writes := c.checkZoneWrites(w, word, streamBefore)
	sent, failed := r.reads()
	availability := 1 - float64(failed)/float64(sent)
	budget := time.Duration((1 - 0.9995) * float64(30*24*time.Hour)) // a 99.95 % month's error budget: 21.6 minutes
	spent := time.Duration(float64(r.window) * (1 - availability))
	outcome := fmt.Sprintf("zone %s: failover %s; first write acknowledged %s after the loss; reads %d failed of %d (%d after the new leaders); "+
		"availability %.4f %% over %s, %.3f %% of a 99.95 %% month's error budget; every member healthy %s after the zone came back; %s",
		z, fmtFailover(r.failover), r.firstWrite.Round(100*time.Millisecond), failed, sent, r.sinceLeaders.Errors,
		100*availability, r.window.Round(time.Second), 100*float64(spent)/float64(budget), r.healthyAfter.Round(time.Second), writes)
	record(phases{name: "zone " + f.name, before: r.untilLeaders, during: r.sinceLeaders, outcome: outcome})
	t.Log(outcome)
	for _, rep := range []bench.Report{r.untilLeaders, r.sinceLeaders} {
		if rep.Errors > 0 {
			t.Logf("errors by status %v, transport %v %v", rep.ErrorsByStatus, rep.TransportErrors, rep.TransportErrorSamples)
		}
	}
	if availability < 0.999 {
		t.Errorf("%d reads failed of %d: below 99.9 %%", failed, sent)
	}
	if r.sinceLeaders.Errors != 0 {
		t.Errorf("%d reads failed once the new leaders were in place", r.sinceLeaders.Errors)
	}
	if r.firstWrite > 30*time.Second {
		t.Errorf("writes resumed %s after the zone's loss, past 30 s", r.firstWrite)
	}
	// The lost leader answers nothing: no write sent after the loss is
	// acknowledged while every other server still says it is a standby.
	if r.firstWrite < r.standbyUntil {
		t.Errorf("a write was acknowledged %s after the loss, while every server outside zone %s was still a standby (%s): the lost zone still took writes",
			r.firstWrite, z, r.standbyUntil)
	}
}

// gatherLeaders puts the PostgreSQL leader and the Redis primary in the
// zone of the balancer the entry sends clients to, and returns that zone.
func (c *cluster) gatherLeaders() string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lb, ok := c.layout.Process(c.cl.ActiveBalancer(ctx))
	if !ok {
		c.t.Fatal("the entry sends clients to no balancer")
	}
	if err := c.cl.MovePostgresLeader(ctx, lb.Zone); err != nil {
		c.t.Fatal(err)
	}
	if err := c.cl.MoveRedisPrimary(ctx, lb.Zone); err != nil {
		c.t.Fatal(err)
	}
	return lb.Zone
}

// waitNewLeaders waits until PostgreSQL, Redis and the entry have each
// moved their leader out of zone z, and NATS has a metadata leader outside
// it, and returns how long each took from lost. PostgreSQL's is the first
// server outside z that takes writes, asked directly (Patroni's own view
// lags its promotion by up to a loop); standbyUntil is the last moment
// every server outside z was seen a standby.
func (c *cluster) waitNewLeaders(z string, lost time.Time, limit time.Duration) (took map[string]time.Duration, standbyUntil time.Duration) {
	took = map[string]time.Duration{}
	outside := func(name string) bool {
		p, ok := c.layout.Process(name)
		return ok && p.Zone != z
	}
	probes := map[string]func(context.Context) string{
		localcluster.LeadLB:   c.cl.ActiveBalancer,
		localcluster.LeadNATS: c.cl.NATSLeader,
		localcluster.LeadRedis: func(ctx context.Context) string {
			primary := c.cl.RedisPrimary(ctx)
			for _, r := range c.layout.OfKind(localcluster.KindRedis) {
				if r.Addr("redis") == primary {
					return r.Name
				}
			}
			return ""
		},
		localcluster.LeadPostgres: func(ctx context.Context) string {
			asked := time.Now()
			writable, standbys := c.postgresOutside(ctx, z)
			if standbys == len(localcluster.Zones)-1 {
				standbyUntil = asked.Sub(lost) // only this probe writes it
			}
			return writable
		},
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for part, probe := range probes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			for ctx.Err() == nil {
				if outside(probe(ctx)) {
					mu.Lock()
					took[part] = time.Since(lost)
					mu.Unlock()
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if len(took) != len(probes) {
		c.t.Fatalf("after %s, only %v have a leader outside zone %s", limit, took, z)
	}
	return took, standbyUntil
}

// postgresOutside asks each PostgreSQL server outside zone z whether it
// is a standby: it returns the first that takes writes, and how many
// answered that they are standbys.
func (c *cluster) postgresOutside(ctx context.Context, z string) (writable string, standbys int) {
	for _, pg := range c.layout.OfKind(localcluster.KindPostgres) {
		if pg.Zone == z {
			continue
		}
		ask, cancel := context.WithTimeout(ctx, time.Second)
		var standby bool
		conn, err := pgx.Connect(ask, "postgres://postgres@"+pg.Addr("postgres")+"/postgres?sslmode=disable")
		if err == nil {
			err = conn.QueryRow(ask, "SELECT pg_is_in_recovery()").Scan(&standby)
			_ = conn.Close(ask)
		}
		cancel()
		switch {
		case err != nil:
		case standby:
			standbys++
		case writable == "":
			writable = pg.Name
		}
	}
	return writable, standbys
}

// waitHealthy waits until every member of every part is healthy and
// replicating again, and returns how long that took from since.
func (c *cluster) waitHealthy(since time.Time, limit time.Duration) time.Duration {
	var last error
	ok := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		last = c.cl.Healthy(ctx)
		return last == nil
	}
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			c.t.Fatalf("not healthy %s after the zone came back: %v", limit, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return time.Since(since)
}

func fmtFailover(took map[string]time.Duration) string {
	var parts []string
	for _, part := range []string{localcluster.LeadLB, localcluster.LeadRedis, localcluster.LeadPostgres, localcluster.LeadNATS} {
		parts = append(parts, fmt.Sprintf("%s %s", part, took[part].Round(100*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// ackWriter creates products through the entry from several writers at
// once, each product once (its Idempotency-Key), recording when each
// acknowledged one was sent and acknowledged.
type ackWriter struct {
	mu      sync.Mutex
	acked   map[string][2]time.Time // product id → when its request was sent, when the 201 came
	failed  atomic.Int64
	next    atomic.Int64
	stop    chan struct{}
	workers sync.WaitGroup
}

func (c *cluster) startAckWriter(token, word string, workers int) *ackWriter {
	w := &ackWriter{acked: map[string][2]time.Time{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	for range workers {
		w.workers.Go(func() {
			for {
				select {
				case <-w.stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
				i := w.next.Add(1)
				body := fmt.Sprintf(`{"name":"%s Gadget %d","brand":"Acme","status":"active","variants":[{"sku":"%s-%d","price":{"amount":1999,"currency":"EUR"},"stock":3}]}`, word, i, word, i)
				req, _ := http.NewRequest("POST", c.URL+"/api/products", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", word, i))
				sent := time.Now()
				res, err := client.Do(req)
				if err != nil {
					w.failed.Add(1)
					continue
				}
				var p struct{ ID string }
				if res.StatusCode == 201 && jsonDecode(res, &p) == nil {
					w.mu.Lock()
					w.acked[p.ID] = [2]time.Time{sent, time.Now()}
					w.mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				w.failed.Add(1)
			}
		})
	}
	return w
}

func (w *ackWriter) finish() { close(w.stop); w.workers.Wait() }

// firstAckAfter waits for the first write sent after t to be
// acknowledged, and returns how long after t it was.
func (w *ackWriter) firstAckAfter(t time.Time, limit time.Duration) time.Duration {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		first := time.Duration(-1)
		w.mu.Lock()
		for _, at := range w.acked {
			if d := at[1].Sub(t); !at[0].Before(t) && (first < 0 || d < first) {
				first = d
			}
		}
		w.mu.Unlock()
		if first >= 0 {
			return first
		}
	}
	return limit
}

// checkZoneWrites checks that no acknowledged write was lost, none was
// applied twice, every PostgreSQL member holds the same writes (no split
// brain: nothing the lost zone's old leader kept survives anywhere), and
// every catalog event arrived once: on the stream, in search, in
// analytics. It returns what it found, for the report.
func (c *cluster) checkZoneWrites(w *ackWriter, word string, streamBefore uint64) string {
	t := c.t
	ids := make([]string, 0, len(w.acked))
	for id := range w.acked {
		ids = append(ids, id)
	}
	// Every member is asked: an acknowledged write missing from any is
	// lost there (the ids are UUIDs the service made, safe to quote).
	acked := "SELECT count(*) FROM product.products WHERE id IN ('" + strings.Join(ids, "','") + "')"
	like := word + " Gadget %"
	counts, lost := map[string]int{}, 0
	for _, pg := range c.layout.OfKind(localcluster.KindPostgres) {
		counts[pg.Name] = c.sqlCount(pg, "SELECT count(*) FROM product.products WHERE name LIKE '"+like+"'")
		lost = max(lost, len(ids)-c.sqlCount(pg, acked))
	}
	doubled := c.sqlCount(c.layout.OfKind(localcluster.KindPostgres)[0],
		"SELECT count(*) FROM (SELECT name FROM product.products WHERE name LIKE '"+like+"' GROUP BY name HAVING count(*) > 1) d")
	stored := counts[c.layout.OfKind(localcluster.KindPostgres)[0].Name]
	events := c.waitStreamGrowth(streamBefore, stored)
	searched := c.waitSearchTotal(strings.ToLower(word), stored)
	known := c.analyticsKnows(strings.ToLower(word), ids)
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost", lost)
	}
	if doubled != 0 {
		t.Errorf("%d products stored twice", doubled)
	}
	for name, n := range counts {
		if n != stored {
			t.Errorf("the PostgreSQL members disagree: %v (%s)", counts, name)
			break
		}
	}
	// Each stored product reaches the consumers once: search finds
	// exactly them, analytics knows each. The stream may hold an event
	// twice (a relay that sent it again after a stream leader was lost
	// mid-acknowledgement; the report shows how many): consumers apply a
	// product's event by its version, so a second copy changes nothing.
	if stored < len(w.acked) || events < uint64(stored) || searched != stored || known != len(ids) {
		t.Errorf("%d acknowledged, %d stored: %d catalog events, search finds %d, analytics knows %d", len(w.acked), stored, events, searched, known)
	}
	return fmt.Sprintf("writes: %d acknowledged, %d refused, %d lost, %d stored twice, members %v; %d catalog events, search finds %d, analytics knows %d",
		len(w.acked), w.failed.Load(), lost, doubled, counts, events, searched, known)
}

// sqlCount runs a count on one PostgreSQL member (a standby answers too).
func (c *cluster) sqlCount(pg localcluster.Process, query string) int {
	c.t.Helper()
	out, err := exec.Command("psql", "-h", pg.Host, "-p", strconv.Itoa(pg.Ports["postgres"]), "-U", "postgres", "-d", "vitrine",
		"-tAc", query).CombinedOutput()
	if err != nil {
		c.t.Fatalf("psql on %s: %v: %s", pg.Name, err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		c.t.Fatalf("psql on %s: %q", pg.Name, out)
	}
	return n
}

// waitStreamGrowth waits until the catalog stream holds want events more
// than before (and a few seconds more, to see any extra), and returns how
// many it holds more.
func (c *cluster) waitStreamGrowth(before uint64, want int) uint64 {
	var seq uint64
	eventually(c.t, time.Minute, "every product event is on the stream", func() bool {
		seq = c.streamLastSeq()
		return seq-before >= uint64(want)
	})
	time.Sleep(3 * time.Second)
	return c.streamLastSeq() - before
}

// waitSearchTotal waits until every running search instance, asked
// directly, finds want products for q, and returns the fewest any found.
func (c *cluster) waitSearchTotal(q string, want int) int {
	var found map[string]int
	fewest := func() int {
		n := -1
		for _, total := range found {
			if n < 0 || total < n {
				n = total
			}
		}
		return n
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		found = map[string]int{}
		for i := 1; i <= c.cl.Config.Instances; i++ {
			inst := c.layout.Instance("search", i)
			var res struct{ Total int }
			c.do("GET", inst.URL+"/api/search?q="+q+"&per_page=1", "", nil).json(c.t, &res)
			found[inst.Name] = res.Total
		}
		if fewest() == want || time.Now().After(deadline) {
			break
		}
	}
	for name, total := range found {
		if total != want {
			c.t.Errorf("%s finds %d products for %q, not the %d written", name, total, q, want)
		}
	}
	return fewest()
}

// analyticsKnows sends a purchase of each product and returns how many of
// them analytics accepted as products it knows.
func (c *cluster) analyticsKnows(word string, ids []string) int {
	checkout := c.vitrine("credential", "create", "--name", word, "--scope", "analytics:purchases")
	var batch []any
	for _, id := range ids {
		batch = append(batch, map[string]any{"id": word + "-" + id, "type": "purchase", "product_id": id, "quantity": 1})
	}
	known := 0
	for start := 0; start < len(batch); start += 500 {
		part := batch[start:min(start+500, len(batch))]
		eventually(c.t, 30*time.Second, "analytics knows every product written", func() bool {
			var res struct{ Accepted, Duplicates, Rejected int }
			c.expect(202, "POST", "/api/analytics/events", checkout, map[string]any{"events": part}).json(c.t, &res)
			return res.Rejected == 0
		})
		known += len(part)
	}
	return known
}
