package localcluster

import (
	"context"
	"os"
	"strings"
	"time"
)

// etcd is Patroni's store: three members, one per zone, so that it keeps
// a quorum (and Patroni its leader lock) when a zone is lost.

// etcdCluster is etcd's --initial-cluster: every member's peer URL.
func (c *Cluster) etcdCluster() string {
	var members []string
	for _, e := range c.OfKind(KindEtcd) {
		members = append(members, e.Name+"=http://"+e.Addr("peer"))
	}
	return strings.Join(members, ",")
}

// startEtcd starts one member and waits for its client port. Alone it has
// no quorum; startEtcdCluster waits for the cluster's health.
func (c *Cluster) startEtcd(ctx context.Context, p Process) error {
	if c.Alive(p.Name) {
		return nil
	}
	dir := c.path("etcd", p.Name)
	state := "existing"
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		state = "new"
	}
	client, peer := "http://"+p.Addr("client"), "http://"+p.Addr("peer")
	// Heartbeats and elections for loopback, where a round trip takes
	// microseconds: a lost member's leadership moves within a second.
	err := c.spawn(p.Name, nil, "etcd", "--name", p.Name, "--data-dir", dir,
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", c.etcdCluster(), "--initial-cluster-state", state,
		"--initial-cluster-token", "vitrine-"+c.Config.Ports.etcdToken(),
		"--heartbeat-interval", "100", "--election-timeout", "1000", "--log-level", "warn",
		"--enable-v2=true") // Patroni's compare-and-swap of its leader key (see patroniConfig)
	if err != nil {
		return err
	}
	return c.withLogTail(p.Name, waitUntil(ctx, 30*time.Second, p.Name, tcpOpen(p.Addr("client"))))
}

// startEtcdCluster starts the three members and waits until each is
// healthy, which takes a quorum.
func (c *Cluster) startEtcdCluster(ctx context.Context) error {
	members := c.OfKind(KindEtcd)
	for _, p := range members {
		if err := c.startEtcd(ctx, p); err != nil {
			return err
		}
	}
	for _, p := range members {
		if err := waitUntil(ctx, time.Minute, p.Name+" to be healthy", c.etcdHealthy(p)); err != nil {
			return c.withLogTail(p.Name, err)
		}
	}
	return nil
}

// etcdHealthy says whether a member answers /health with a quorum behind
// it.
func (c *Cluster) etcdHealthy(p Process) func(context.Context) bool {
	return httpOK("http://" + p.Addr("client") + "/health")
}
