package clustertest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"
)

// testReplicas: the product and analytics instances read from a standby
// (--postgres-replica-url, their own zone's first) while one is healthy.
// With the standbys held one second behind the leader, a plain HTTP
// client that creates or updates a product through HAProxy reads its own
// write at once, and a client from another address sees the change within
// a second or so. With both standbys stopped the replica pool reads from
// the leader (prefer-standby), reads go on, and the standbys come back.
func testReplicas(c *cluster) {
	t := c.t
	standbys := c.standbys()
	c.standbySQL(standbys, "ALTER SYSTEM SET recovery_min_apply_delay = '1s'", "SELECT pg_reload_conf()")
	t.Cleanup(func() {
		c.standbySQL(standbys, "ALTER SYSTEM RESET recovery_min_apply_delay", "SELECT pg_reload_conf()")
	})
	n := float64(c.cl.Config.Instances)
	eventually(t, 15*time.Second, "every product and analytics instance reads from a replica", func() bool {
		return c.productMetric("vitrine_db_replica_healthy") == n && c.serviceMetric("analytics", "vitrine_db_replica_healthy") == n
	})
	replicaReads := c.productMetric(`vitrine_db_reads_total{pool="replica"`)

	admin := c.login(adminEmail, adminPassword)
	other := c.clientFrom("127.0.0.2")
	var slowest time.Duration
	for i := range 6 {
		// Create, then read at once: by slug and by id, and in a listing.
		name := fmt.Sprintf("Replica Lamp %d", i)
		var p struct{ ID, Slug, Description string }
		c.expect(201, "POST", "/api/products", admin, map[string]any{"name": name, "brand": "Lumen", "status": "active",
			"variants": []any{map[string]any{"sku": fmt.Sprintf("REP-LAMP-%d", i), "price": map[string]any{"amount": 2999, "currency": "EUR"}, "stock": 3}}}).json(t, &p)
		for _, key := range []string{p.Slug, p.ID} {
			c.expect(200, "GET", "/api/products/"+key, "", nil)
		}
		// Update, then read at once.
		etag := c.expect(200, "GET", "/api/products/"+p.ID, "", nil).Header.Get("ETag")
		want := fmt.Sprintf("lit %d", i)
		c.expect(200, "PATCH", "/api/products/"+p.ID, admin, map[string]string{"description": want},
			"If-Match", etag, "Content-Type", "application/merge-patch+json")
		updated := time.Now()
		var got struct{ Description string }
		c.expect(200, "GET", "/api/products/"+p.Slug, "", nil).json(t, &got)
		if got.Description != want {
			t.Fatalf("update %d: the writer read %q right after writing %q", i, got.Description, want)
		}
		// Another client, from another address, sees it soon.
		eventually(t, 2*time.Second, "another client sees the update", func() bool {
			res, err := other.Get(c.URL + "/api/products/" + p.Slug)
			if err != nil {
				t.Fatal(err)
			}
			var seen struct{ Description string }
			if err := jsonDecode(res, &seen); err != nil || res.StatusCode != 200 {
				t.Fatalf("another client: %d %v", res.StatusCode, err)
			}
			return seen.Description == want
		})
		slowest = max(slowest, time.Since(updated))
	}
	// Once the replica has replayed the writes, reads the cache does not
	// hold go to it again.
	query := 0
	eventually(t, 10*time.Second, "reads go to the replica again", func() bool {
		query++
		res, err := other.Get(fmt.Sprintf("%s/api/products?limit=2&brand=Lumen&min_price=%d", c.URL, query))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return c.productMetric(`vitrine_db_reads_total{pool="replica"`) > replicaReads
	})
	served := c.productMetric(`vitrine_db_reads_total{pool="replica"`) - replicaReads
	if c.productMetric("vitrine_db_replica_healthy") != n {
		t.Fatal("a replica held 1s behind left the read pool; the bound is 2s")
	}
	t.Logf("replica 1s behind: the writer read every write at once; another client saw each update within %s; %.0f reads served by the replica",
		slowest.Round(time.Millisecond), served)

	// The standbys stop: reads go on from the leader; they come back.
	for _, name := range standbys {
		c.proc(localcluster.Stop, name)
	}
	for i := range 30 {
		c.expect(200, "GET", fmt.Sprintf("/api/products?limit=3&brand=Lumen&min_price=%d", i), "", nil)
		time.Sleep(50 * time.Millisecond)
	}
	// Analytics reports read from the leader meanwhile.
	c.expect(200, "GET", "/api/analytics/top-products?metric=views&window=1h", admin, nil)
	for _, name := range standbys {
		c.proc(localcluster.Start, name)
	}
	eventually(t, time.Minute, "the standbys come back to the read pool", func() bool {
		return c.productMetric("vitrine_db_replica_healthy") == n && c.serviceMetric("analytics", "vitrine_db_replica_healthy") == n
	})
	c.waitHealthy(time.Now(), 2*time.Minute) // both standbys streaming again
}

// standbys are the PostgreSQL members that are not the leader.
func (c *cluster) standbys() []string {
	c.t.Helper()
	members, err := c.cl.PatroniMembers(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, m := range members {
		if m.Role != "leader" {
			out = append(out, m.Name)
		}
	}
	return out
}

// standbySQL runs statements on the named members with psql.
func (c *cluster) standbySQL(names []string, statements ...string) {
	c.t.Helper()
	for _, name := range names {
		pg, _ := c.layout.Process(name)
		for _, st := range statements {
			out, err := exec.Command("psql", "-h", pg.Host, "-p", strconv.Itoa(pg.Ports["postgres"]), "-U", "postgres",
				"-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", st).CombinedOutput()
			if err != nil {
				c.t.Fatalf("psql on %s: %s: %v: %s", name, st, err, out)
			}
		}
	}
}

// productMetric sums a metric over the product instances.
func (c *cluster) productMetric(prefix string) float64 { return c.serviceMetric("product", prefix) }

// serviceMetric sums, over the instances of a service "up" started, the
// series of their /metrics whose line starts with prefix.
func (c *cluster) serviceMetric(service, prefix string) float64 {
	c.t.Helper()
	var sum float64
	for i := 1; i <= c.cl.Config.Instances; i++ {
		res, err := http.Get(c.layout.Instance(service, i).AdminURL + "/metrics")
		if err != nil {
			c.t.Fatalf("metrics of %s-%d: %v", service, i, err)
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, prefix) {
				continue
			}
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				sum += v
			}
		}
		res.Body.Close()
	}
	return sum
}

// clientFrom is a plain HTTP client whose connections leave from addr, a
// loopback address other than 127.0.0.1: HAProxy sees another client.
func (c *cluster) clientFrom(addr string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			return d.DialContext(ctx, network, address)
		},
	}}
}
