package localcluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Each zone has an HAProxy (deploy/haproxy/haproxy.cfg) that routes to
// every instance of every zone, as a cloud load balancer does across
// zones. In front of them the entry (deploy/haproxy/entry.cfg) plays the
// reference's Route 53 with failover routing: it sends every client to
// the first zone's balancer while its health check passes, to the next
// one's when it fails, and passes each client's address on in the PROXY
// protocol.

// startHAProxy starts one zone's balancer, every server slot parked in
// maintenance, then gives it the instances that run.
func (c *Cluster) startHAProxy(ctx context.Context, lb Process) error {
	if !c.Alive(lb.Name) {
		if err := c.spawnHAProxy(ctx, lb.Name, c.Config.HAProxyConfig, c.HAProxyEnv(lb)); err != nil {
			return err
		}
		if err := waitUntil(ctx, 20*time.Second, lb.Name, tcpOpen(lb.Addr("api"))); err != nil {
			return c.withLogTail(lb.Name, err)
		}
	}
	api := HAProxyAPI{Addr: lb.Addr("api")}
	for _, svc := range Services {
		for _, inst := range c.running(svc) {
			if err := c.enable(ctx, api, inst); err != nil {
				return err
			}
		}
	}
	return nil
}

// startEntry starts the entry in front of the zones' balancers.
func (c *Cluster) startEntry(ctx context.Context) error {
	e := c.Entry()
	if c.Alive(e.Name) {
		return nil
	}
	cfg := filepath.Join(filepath.Dir(c.Config.HAProxyConfig), "entry.cfg")
	if err := c.spawnHAProxy(ctx, e.Name, cfg, c.EntryEnv()); err != nil {
		return err
	}
	return c.withLogTail(e.Name, waitUntil(ctx, 20*time.Second, "the entry", tcpOpen(e.Addr("http"))))
}

// spawnHAProxy checks a configuration, then starts HAProxy with it.
func (c *Cluster) spawnHAProxy(ctx context.Context, name, cfg string, env []string) error {
	check := exec.CommandContext(ctx, "haproxy", "-c", "-q", "-f", cfg)
	check.Env = append(os.Environ(), env...)
	if err := runCmd(check); err != nil {
		return fmt.Errorf("%s does not parse: %w", cfg, err)
	}
	return c.spawn(name, env, "haproxy", "-W", "-db", "-f", cfg)
}

// Balancers are the runtime APIs of the zones' balancers that answer (a
// frozen zone's does not).
func (c *Cluster) Balancers() []HAProxyAPI {
	var out []HAProxyAPI
	for _, lb := range c.OfKind(KindHAProxy) {
		if c.Answering(lb.Name) {
			out = append(out, HAProxyAPI{Addr: lb.Addr("api")})
		}
	}
	return out
}

// enable points an instance's slot at it and lets the balancer's checks
// take it in.
func (c *Cluster) enable(ctx context.Context, api HAProxyAPI, inst Instance) error {
	if err := api.SetServerAddr(ctx, inst.Service, inst.Name, inst.Host, inst.Ports["http"]); err != nil {
		return err
	}
	return api.SetServerState(ctx, inst.Service, inst.Name, StateReady)
}

// ActiveBalancer is the zone balancer the entry sends clients to, or ""
// when it has none up.
func (c *Cluster) ActiveBalancer(ctx context.Context) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.StatsURL+";csv", nil)
	if err != nil {
		return ""
	}
	res, err := probeClient.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return ""
	}
	rows, err := ParseStats(string(b))
	if err != nil {
		return ""
	}
	// The active server is the first one up that is not a backup; with
	// none, the first backup up.
	for _, backup := range []string{"0", "1"} {
		for _, r := range rows {
			if r.Proxy == "balancers" && r.Server != "BACKEND" && r.Fields["bck"] == backup && r.Status == "UP" {
				return r.Server
			}
		}
	}
	return ""
}
