package redistest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// MasterName is the name the Sentinels of a Group know their primary by.
const MasterName = "vitrine"

// Group is a Redis primary, its replica and three Sentinels watching them,
// each a redis-server of the test's own, as a cluster over three zones
// runs them. The Sentinels judge the primary down after a second
// without an answer, so a failover takes a few seconds.
type Group struct {
	t         testing.TB
	Primary   *Server
	Replica   *Server
	Sentinels []*Server
}

// StartGroup starts a primary, a replica and three Sentinels and returns
// once the Sentinels know the replica and one another, so that a
// failover can happen.
func StartGroup(t testing.TB) *Group {
	t.Helper()
	g := &Group{t: t, Primary: Start(t)}
	g.Replica = StartReplica(t, g.Primary)
	g.waitForReplication()
	for range 3 {
		s := &Server{t: t, port: testwait.FreePort(t), dir: t.TempDir(), args: []string{"--sentinel"}}
		s.conf = filepath.Join(s.dir, "sentinel.conf")
		conf := fmt.Sprintf("dir %s\nsentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %[2]s 1000\nsentinel failover-timeout %[2]s 5000\n",
			s.dir, MasterName, g.Primary.port)
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		g.Sentinels = append(g.Sentinels, startServer(s))
	}
	g.waitForSentinels()
	return g
}

// URL is the Sentinel URL of the group's primary, as --redis-url takes it.
func (g *Group) URL() string {
	q := url.Values{"master_name": {MasterName}}
	for _, s := range g.Sentinels[1:] {
		q.Add("addr", s.Addr())
	}
	return (&url.URL{Scheme: "redis", Host: g.Sentinels[0].Addr(), Path: "/0", RawQuery: q.Encode()}).String()
}

// MasterAddr is the primary's address as a Sentinel that answers gives it.
func (g *Group) MasterAddr(ctx context.Context) (string, error) {
	var err error
	for _, s := range g.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: 0, ReadTimeout: 500 * time.Millisecond})
		var addr []string
		addr, err = c.GetMasterAddrByName(ctx, MasterName).Result()
		_ = c.Close()
		if err == nil {
			return addr[0] + ":" + addr[1], nil
		}
	}
	return "", err
}

// waitForReplication waits until the replica has its first copy.
func (g *Group) waitForReplication() {
	g.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: g.Replica.Addr(), MaxRetries: 0})
	defer c.Close()
	g.waitFor("the replica to copy the primary", func(ctx context.Context) (bool, error) {
		info, err := c.InfoMap(ctx, "replication").Result()
		return info["Replication"]["master_link_status"] == "up", err
	})
}

// waitForSentinels waits until every Sentinel sees the replica and the
// two other Sentinels.
func (g *Group) waitForSentinels() {
	g.t.Helper()
	for _, s := range g.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: 0})
		g.waitFor("Sentinel "+s.Addr()+" to know the replica and the other Sentinels", func(ctx context.Context) (bool, error) {
			m, err := c.Master(ctx, MasterName).Result()
			return m["num-slaves"] == "1" && m["num-other-sentinels"] == strconv.Itoa(len(g.Sentinels)-1), err
		})
		_ = c.Close()
	}
}

func (g *Group) waitFor(what string, ready func(context.Context) (bool, error)) {
	g.t.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var ok bool
		ok, err = ready(ctx)
		cancel()
		if ok {
			return
		}
	}
	g.t.Fatalf("waited 30s for %s (last error: %v)", what, err)
}
