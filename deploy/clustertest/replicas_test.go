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

// testReplicas: the product and analytics instances read from the replica
// (--postgres-replica-url) while it is healthy. With the replica held one
// second behind the primary, a plain HTTP client that creates or updates a
// product through HAProxy reads its own write at once, and a client from
// another address sees the change within a second or so. A stopped
// replica leaves the read pool, reads go on, and it comes back.
func testReplicas(c *cluster) {
	t := c.t
	c.replicaSQL("ALTER SYSTEM SET recovery_min_apply_delay = '1s'", "SELECT pg_reload_conf()")
	t.Cleanup(func() {
		c.replicaSQL("ALTER SYSTEM RESET recovery_min_apply_delay", "SELECT pg_reload_conf()")
	})
	eventually(t, 15*time.Second, "both product and both analytics instances read from the replica", func() bool {
		return c.productMetric("vitrine_db_replica_healthy") == 2 && c.serviceMetric("analytics", "vitrine_db_replica_healthy") == 2
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
	if c.productMetric("vitrine_db_replica_healthy") != 2 {
		t.Fatal("the replica held 1s behind left the read pool; the bound is 2s")
	}
	t.Logf("replica 1s behind: the writer read every write at once; another client saw each update within %s; %.0f reads served by the replica",
		slowest.Round(time.Millisecond), served)

	// The replica stops: reads go on from the primary; it comes back.
	c.proc(localcluster.Stop, "pg-replica")
	for i := range 30 {
		c.expect(200, "GET", fmt.Sprintf("/api/products?limit=3&brand=Lumen&min_price=%d", i), "", nil)
		time.Sleep(50 * time.Millisecond)
	}
	eventually(t, 5*time.Second, "the stopped replica leaves the read pool", func() bool {
		return c.productMetric("vitrine_db_replica_healthy") == 0
	})
	// Analytics reports read from the primary meanwhile.
	c.expect(200, "GET", "/api/analytics/top-products?metric=views&window=1h", admin, nil)
	c.proc(localcluster.Start, "pg-replica")
	eventually(t, 30*time.Second, "the replica comes back to the read pool", func() bool {
		return c.productMetric("vitrine_db_replica_healthy") == 2 && c.serviceMetric("analytics", "vitrine_db_replica_healthy") == 2
	})
}

// replicaSQL runs statements on the replica with psql.
func (c *cluster) replicaSQL(statements ...string) {
	c.t.Helper()
	replica := c.layout.Postgres("replica")
	for _, st := range statements {
		out, err := exec.Command("psql", "-h", replica.Host, "-p", strconv.Itoa(replica.Ports["postgres"]), "-U", "postgres",
			"-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", st).CombinedOutput()
		if err != nil {
			c.t.Fatalf("psql on the replica: %s: %v: %s", st, err, out)
		}
	}
}

// productMetric sums a metric over product-1 and product-2.
func (c *cluster) productMetric(prefix string) float64 { return c.serviceMetric("product", prefix) }

// serviceMetric sums, over instances 1 and 2 of a service, the series of
// their /metrics whose line starts with prefix.
func (c *cluster) serviceMetric(service, prefix string) float64 {
	c.t.Helper()
	var sum float64
	for i := 1; i <= 2; i++ {
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
