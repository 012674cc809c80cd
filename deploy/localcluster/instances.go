package localcluster

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// InstanceOptions change how one instance starts.
type InstanceOptions struct {
	// NATSURL replaces the cluster's NATS URL (a relay a test can freeze,
	// say); CLUSTER_INSTANCE_NATS_URL when empty.
	NATSURL string
}

// serveArgs are the flags of one instance.
func (c *Cluster) serveArgs(inst Instance, natsURL string) []string {
	args := []string{"serve", "--target=" + inst.Service, "--addr", inst.Addr("http"), "--admin-addr", inst.Addr("admin"),
		"--data-dir", c.path("data", inst.Name), "--postgres-url", inst.PostgresURL, "--nats-url", natsURL,
		"--redis-url", c.RedisURL, "--stream-replicas", "3", "--trusted-proxies", loopback + "/32",
		"--drain-delay", "2s", "--shutdown-timeout", "15s",
		// A breaker that opened while a store failed over tries again
		// within seconds: after a Redis failover the cache, rate limits
		// and login throttles are shared again that soon.
		"--breaker-open-for", "5s",
		// A file, not the secret, on the command line: the command line
		// wins over a VITRINE_CURSOR_SECRET the caller may have.
		"--cursor-secret-file", c.path("cursor-secret")}
	if c.Config.Jaeger {
		args = append(args, "--otlp-endpoint", c.OTLPURL)
	}
	if inst.Service != "auth" {
		args = append(args, "--auth-url", c.URL)
	}
	if inst.Service == "product" || inst.Service == "analytics" {
		args = append(args, "--postgres-replica-url", inst.ReplicaURL)
	}
	if inst.Service == "product" && c.Config.Edge {
		// Catalog changes are purged from every zone's edge.
		args = append(args, "--edge-purge-url", c.EdgePurgeURLs())
	}
	if inst.Service == "product" || inst.Service == "search" {
		// Pictures, and the search index snapshots new instances start from.
		args = append(args, "--blob-url", c.BlobURL)
	}
	return append(args, c.Config.ServeArgs...)
}

// StartInstance starts instance i of a service, unless it runs, waits for
// its /readyz, then gives it its HAProxy slot and waits until HAProxy's
// checks send it requests.
func (c *Cluster) StartInstance(ctx context.Context, service string, i int, opt InstanceOptions) error {
	if _, _, ok := ParseInstance(fmt.Sprintf("%s-%d", service, i)); !ok {
		return fmt.Errorf("no instance %s-%d: the services are %v, numbered 1 to %d", service, i, Services, MaxInstances)
	}
	inst := c.Instance(service, i)
	if !c.Alive(inst.Name) {
		natsURL := cmp.Or(opt.NATSURL, c.Config.InstanceNATSURL, c.NATSURL)
		if err := os.MkdirAll(c.path("data", inst.Name), 0o755); err != nil {
			return err
		}
		env := append([]string{"OTEL_TRACES_SAMPLER=" + c.Config.Sampler, "OTEL_TRACES_SAMPLER_ARG=" + c.Config.SamplerArg},
			append(s3Credentials(), c.Config.InstanceEnv...)...)
		if err := c.spawn(inst.Name, env, append([]string{c.Config.VitrineBin}, c.serveArgs(inst, natsURL)...)...); err != nil {
			return err
		}
		ready := httpOK(inst.URL + HealthPath)
		err := waitUntil(ctx, time.Minute, inst.Name+" to answer "+HealthPath, func(ctx context.Context) bool {
			return !c.Alive(inst.Name) || ready(ctx)
		})
		if err == nil && !c.Alive(inst.Name) {
			err = fmt.Errorf("%s exited as it started", inst.Name)
		}
		if err != nil {
			return c.withLogTail(inst.Name, err)
		}
	}
	for _, api := range c.Balancers() {
		if err := c.enable(ctx, api, inst); err != nil {
			return err
		}
	}
	if err := waitUntil(ctx, 30*time.Second, "HAProxy to mark "+inst.Name+" up", c.serverUp(service, inst.Name)); err != nil {
		return err
	}
	return c.writeTargets()
}

// serverUp says whether every zone's balancer finds an instance up.
func (c *Cluster) serverUp(service, name string) func(context.Context) bool {
	return c.everyBalancer(service, name, func(r StatRow) bool { return r.Status == "UP" })
}

// everyBalancer says whether cond holds of an instance's row in every
// balancer that answers.
func (c *Cluster) everyBalancer(service, name string, cond func(StatRow) bool) func(context.Context) bool {
	return func(ctx context.Context) bool {
		for _, api := range c.Balancers() {
			if row, err := api.Server(ctx, service, name); err != nil || !cond(row) {
				return false
			}
		}
		return true
	}
}

// stopInstance drains an instance in HAProxy (no new requests), lets it
// finish its requests (SIGTERM: /readyz turns 503, in-flight requests
// end), then parks its slot.
func (c *Cluster) stopInstance(ctx context.Context, service string, i int) error {
	name := c.Instance(service, i).Name
	balancers := c.Balancers()
	for _, api := range balancers {
		if err := api.SetServerState(ctx, service, name, StateDrain); err != nil {
			c.logf("draining %s: %v", name, err)
		}
	}
	idle := c.everyBalancer(service, name, func(r StatRow) bool { return r.Current == 0 })
	if err := waitUntil(ctx, 10*time.Second, name+" to have no request in flight", idle); err != nil {
		c.logf("%v", err)
	}
	c.stopProcess(name, syscall.SIGTERM, 30*time.Second)
	for _, api := range balancers {
		if err := api.SetServerState(ctx, service, name, StateMaint); err != nil {
			c.logf("parking %s: %v", name, err)
		}
	}
	return c.writeTargets()
}

// restartInstance is a rolling restart's step: SIGTERM, then start it
// again and wait until HAProxy sends it requests. The slot stays enabled:
// HAProxy's checks take the instance out while it drains and back once it
// is ready.
func (c *Cluster) restartInstance(ctx context.Context, service string, i int) error {
	name := c.Instance(service, i).Name
	c.stopProcess(name, syscall.SIGTERM, 30*time.Second)
	up := c.serverUp(service, name)
	if err := waitUntil(ctx, 10*time.Second, "HAProxy to mark "+name+" down", func(ctx context.Context) bool { return !up(ctx) }); err != nil {
		c.logf("%v", err)
	}
	return c.StartInstance(ctx, service, i, InstanceOptions{})
}

// startInstances starts instances, as many at once as the machine has
// cores: an instance's start is mostly waiting (its /readyz, HAProxy's
// checks), but many at once on two cores slow each other past their
// dependencies' deadlines.
func (c *Cluster) startInstances(ctx context.Context, instances []Instance) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, runtime.NumCPU()))
	for _, inst := range instances {
		g.Go(func() error { return c.StartInstance(gctx, inst.Service, inst.Index, InstanceOptions{}) })
	}
	return g.Wait()
}

// Scale starts the instances of a service up to n, then drains and stops
// those above n, while HAProxy keeps serving: no reload.
func (c *Cluster) Scale(ctx context.Context, service string, n int) error {
	if !slices.Contains(Services, service) {
		return fmt.Errorf("unknown service %q: one of %v", service, Services)
	}
	if n < 1 || n > MaxInstances {
		return fmt.Errorf("scale %s %d: the number of instances must be between 1 and %d", service, n, MaxInstances)
	}
	var missing []Instance
	for i := 1; i <= n; i++ {
		if inst := c.Instance(service, i); !c.Alive(inst.Name) {
			c.logf("starting %s", inst.Name)
			missing = append(missing, inst)
		}
	}
	if err := c.startInstances(ctx, missing); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, inst := range c.running(service) {
		if inst.Index > n {
			c.logf("draining and stopping %s", inst.Name)
			g.Go(func() error { return c.stopInstance(gctx, service, inst.Index) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c.logf("%s: %d instance(s)", service, len(c.running(service)))
	return nil
}

// running are the instances of a service that run.
func (c *Cluster) running(service string) []Instance {
	var out []Instance
	for i := 1; i <= MaxInstances; i++ {
		if inst := c.Instance(service, i); c.Alive(inst.Name) {
			out = append(out, inst)
		}
	}
	return out
}

func (c *Cluster) procInstance(ctx context.Context, action Action, name string) error {
	service, i, _ := ParseInstance(name)
	switch action {
	case Start:
		return c.StartInstance(ctx, service, i, InstanceOptions{})
	case Stop:
		return c.stopInstance(ctx, service, i)
	case Kill:
		c.stopProcess(name, syscall.SIGKILL, 5*time.Second)
	case Restart:
		return c.restartInstance(ctx, service, i)
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return nil
}
