package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// TestReadsFromAReplicaHeldBehind runs two product instances on a primary
// with a streaming replica held an hour behind (and allowed to be), on
// event streams of their own, so the second never hears of the first's
// writes: the window a write's event takes to reach every instance,
// made to last. On the instance that wrote, other clients read the change
// at once (the primary, as the replica has not replayed it). On the other,
// a plain read comes from the replica and is old; the same read marked as
// a recent writer's by a trusted proxy reads the primary and is current,
// and the mark from anyone else counts for nothing.
func TestReadsFromAReplicaHeldBehind(t *testing.T) {
	primary := sqltest.StartPrimary(t)
	replica := sqltest.StartReplica(t, primary)
	runCommand(t, nil, "user", "create", "--postgres-url", primary.URL(), "--email", "ops@vitrine.test", "--password", "ops-password", "--role", "admin")
	start := func() *server {
		return startServer(t, nil, "--target", "product,auth", "--postgres-url", primary.URL(),
			"--postgres-replica-url", replica.URL(), "--replica-max-lag", "2h", "--trusted-proxies", "127.0.0.1/32",
			"--nats-url", bustest.URL(), "--namespace", bustest.Prefix(t), "--admin-addr", "127.0.0.1:0")
	}
	writer, other := start(), start()
	token := (&catalog{server: writer}).login(t, "ops@vitrine.test", "ops-password")
	var p productJSON
	expect(t, writer.do(call{Method: "POST", Path: "/api/products", Token: token, Body: productBody("Lagging Lamp", "LAG-1", 1999, nil)}), 201).JSON(t, &p)
	// The replica has the product. Each listing asks something new, as
	// the other instance caches what it answered.
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; !containsProduct(t, other.do(call{Method: "GET", Path: fmt.Sprintf("/api/products?brand=Acme&min_price=%d", i), From: "127.0.0.9"}), p.ID); i++ {
		if time.Now().After(deadline) {
			t.Fatal("the replica never had the product")
		}
		time.Sleep(100 * time.Millisecond)
	}

	replica.DelayReplay(primary, time.Hour)
	r := expect(t, writer.get("/api/products/"+p.ID, ""), 200)
	expect(t, writer.do(call{Method: "PATCH", Path: "/api/products/" + p.ID, Token: token, ContentType: "application/merge-patch+json",
		Header: map[string]string{"If-Match": r.Header.Get("ETag")}, Body: map[string]string{"description": "now lit"}}), 200)

	description := func(s *server, c call) string {
		t.Helper()
		c.Method, c.Path = "GET", "/api/products/"+p.ID
		var got productJSON
		expect(t, s.do(c), 200).JSON(t, &got)
		return got.Description
	}
	recent := map[string]string{"X-Vitrine-Recent-Writer": "1"}
	if got := description(writer, call{From: "127.0.0.9"}); got != "now lit" {
		t.Fatalf("another client of the instance that wrote read %q: an old row from the replica", got)
	}
	if got := description(other, call{From: "127.0.0.9", Header: recent}); got != "" {
		t.Fatalf("a client's own recent-writer mark was believed: it read %q, not the replica's old row", got)
	}
	if got := description(other, call{Header: recent}); got != "now lit" {
		t.Fatalf("a recent writer, as marked by the trusted proxy, read %q", got)
	}
	if got := description(other, call{From: "127.0.0.9"}); got != "" {
		t.Fatalf("read %q: the plain read did not come from the replica held behind, so this test proves nothing", got)
	}
}

func containsProduct(t *testing.T, r *response, id string) bool {
	t.Helper()
	var page struct{ Items []productJSON }
	expect(t, r, http.StatusOK).JSON(t, &page)
	for _, it := range page.Items {
		if it.ID == id {
			return true
		}
	}
	return false
}
