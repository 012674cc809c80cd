package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// natsConfig is a node's configuration: JetStream on, and routes to every
// node of the cluster (itself included, which NATS ignores).
func (c *Cluster) natsConfig(node NATSNode) string {
	var routes []string
	for _, n := range c.NATSNodes() {
		routes = append(routes, "    nats-route://"+n.Addr("cluster"))
	}
	return fmt.Sprintf(`server_name: %s
listen: %s
http: %s
jetstream { store_dir: %q, max_memory_store: 256MB, max_file_store: 2GB }
cluster {
  name: vitrine
  listen: %s
  routes: [
%s
  ]
}
`, node.Name, node.Addr("client"), node.Addr("monitor"), c.path("nats", node.Name), node.Addr("cluster"), strings.Join(routes, "\n"))
}

// spawnNATS writes a node's configuration and starts it.
func (c *Cluster) spawnNATS(node NATSNode) error {
	if c.Alive(node.Name) {
		return nil
	}
	if err := os.MkdirAll(c.path("nats", node.Name), 0o755); err != nil {
		return err
	}
	conf := c.path("nats", node.Name+".conf")
	if err := os.WriteFile(conf, []byte(c.natsConfig(node)), 0o644); err != nil {
		return err
	}
	return c.spawn(node.Name, nil, "nats-server", "-c", conf)
}

// startNATSCluster starts the three nodes and waits until each is healthy,
// which takes a quorum of them.
func (c *Cluster) startNATSCluster(ctx context.Context) error {
	for _, n := range c.NATSNodes() {
		if err := c.spawnNATS(n); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, n := range c.NATSNodes() {
		g.Go(func() error {
			return c.withLogTail(n.Name, waitUntil(gctx, time.Minute, n.Name, httpOK(n.MonitorURL+"/healthz")))
		})
	}
	return g.Wait()
}

// startNATSNode starts one node. Alone it is not healthy until a quorum of
// the cluster is up, so this waits for its port only ("status" shows its
// health).
func (c *Cluster) startNATSNode(ctx context.Context, p Process) error {
	var node NATSNode
	for _, n := range c.NATSNodes() {
		if n.Name == p.Name {
			node = n
		}
	}
	if err := c.spawnNATS(node); err != nil {
		return err
	}
	return c.withLogTail(node.Name, waitUntil(ctx, 30*time.Second, node.Name, tcpOpen(node.Addr("client"))))
}

// NATSLeader is the node that leads the JetStream cluster's metadata, as
// the first node that answers says, or "" when none does.
func (c *Cluster) NATSLeader(ctx context.Context) string {
	for _, n := range c.NATSNodes() {
		if !c.Answering(n.Name) {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.MonitorURL+"/jsz", nil)
		if err != nil {
			continue
		}
		res, err := probeClient.Do(req)
		if err != nil {
			continue
		}
		var jsz struct {
			Meta struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		err = json.NewDecoder(res.Body).Decode(&jsz)
		res.Body.Close()
		if err == nil && jsz.Meta.Leader != "" {
			return jsz.Meta.Leader
		}
	}
	return ""
}
