package localcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Cluster runs a layout's processes. Its methods may be called from
// several commands at once: the state is in the pid files and in HAProxy,
// not in the Cluster.
type Cluster struct {
	*Layout

	logMu sync.Mutex
	log   io.Writer

	targetsMu sync.Mutex // Prometheus's targets files
}

// Open readies a cluster of cfg, writing what it does to log.
func Open(cfg Config, log io.Writer) (*Cluster, error) {
	l, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	return &Cluster{Layout: l, log: log}, nil
}

func (c *Cluster) logf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "cluster: "+format+"\n", args...)
}

// path is a file or directory under the cluster's directory.
func (l *Layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Config.Dir}, elem...)...)
}

// Up starts whatever of the cluster does not run: the binaries are built
// (once); then etcd and PostgreSQL under Patroni, NATS, Redis and its
// Sentinels, Jaeger and the S3 gateway in parallel; then the zones'
// balancers, the entry and Prometheus; then the auth instances, then the
// others.
func (c *Cluster) Up(ctx context.Context) error {
	if err := c.prepare(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	p := c.Config.Ports
	c.logf("zones %s on %s, %s, %s", strings.Join(Zones, ", "), ZoneHost("a"), ZoneHost("b"), ZoneHost("c"))
	c.logf("etcd on %d, PostgreSQL under Patroni on %d (REST API %d)", p.Etcd, p.Postgres, p.Patroni)
	g.Go(func() error { return c.startDatabase(gctx) })
	c.logf("NATS on %d", p.NATS)
	g.Go(func() error { return c.startNATSCluster(gctx) })
	c.logf("Redis on %d, Sentinel on %d", p.Redis, p.Sentinel)
	g.Go(func() error { return c.startRedisCluster(gctx) })
	if c.Config.Jaeger {
		c.logf("Jaeger on %d (OTLP on %d)", p.Jaeger, p.JaegerOTLP)
		g.Go(func() error { return c.startJaeger(gctx) })
	}
	c.logf("S3 (pictures) on %d", p.S3)
	g.Go(func() error { return c.startS3(gctx) })
	if c.Config.Edge {
		c.logf("the edge cache (Varnish) on %d in each zone (purges on %d), behind HAProxy (origin %d)", p.Edge, p.EdgePurge, p.Origin)
		for _, v := range c.OfKind(KindVarnish) {
			g.Go(func() error {
				if err := c.startVarnish(gctx, v); err != nil {
					return err
				}
				return c.startEdgeStats(gctx, c.Zoned(KindEdgeStats, v.Zone))
			})
		}
	}
	c.logf("HAProxy on %d in each zone, the entry on %s (TLS %d, stats %d)", p.HTTP, c.URL, p.TLS, p.Stats)
	for _, lb := range c.OfKind(KindHAProxy) {
		g.Go(func() error { return c.startHAProxy(gctx, lb) })
	}
	g.Go(func() error { return c.startEntry(gctx) })
	c.logf("Prometheus on %d", p.Prometheus)
	g.Go(func() error { return c.startPrometheus(gctx) })
	if err := g.Wait(); err != nil {
		return err
	}
	// Auth first: the others fetch its key set through HAProxy when they
	// start. Then product-1 alone, which makes the event streams: several
	// instances making the same replicated stream at once on a new NATS
	// cluster time out (5 s) on a loaded machine.
	var auth, first, rest []Instance
	for _, svc := range Services {
		c.logf("%d x %s", c.Config.Instances, svc)
		for i := 1; i <= c.Config.Instances; i++ {
			switch inst := c.Instance(svc, i); {
			case svc == "auth":
				auth = append(auth, inst)
			case first == nil:
				first = append(first, inst)
			default:
				rest = append(rest, inst)
			}
		}
	}
	for _, group := range [][]Instance{auth, first, rest} {
		if err := c.startInstances(ctx, group); err != nil {
			return err
		}
	}
	return nil
}

// startFixed starts one process that is not an instance, and waits until
// it listens.
func (c *Cluster) startFixed(ctx context.Context, p Process) error {
	switch p.Kind {
	case KindEtcd:
		return c.startEtcd(ctx, p)
	case KindPostgres:
		return c.startPatroni(ctx, p)
	case KindNATS:
		return c.startNATSNode(ctx, p)
	case KindRedis:
		return c.startRedis(ctx, p)
	case KindSentinel:
		return c.startSentinel(ctx, p)
	case KindHAProxy:
		return c.startHAProxy(ctx, p)
	case KindVarnish:
		return c.startVarnish(ctx, p)
	case KindEdgeStats:
		return c.startEdgeStats(ctx, p)
	case KindEntry:
		return c.startEntry(ctx)
	case KindS3:
		return c.startS3(ctx)
	case KindJaeger:
		return c.startJaeger(ctx)
	case KindPrometheus:
		return c.startPrometheus(ctx)
	}
	return fmt.Errorf("%s is not a process Up starts", p.Name)
}

// prepare makes the directories, builds what is missing (vitrine, Jaeger,
// the S3 gateway) and makes the certificate and the cursor secret.
func (c *Cluster) prepare(ctx context.Context) error {
	for _, d := range []string{"pids", "logs", "nats", "data", "bin", "tls", "pg", "etcd", "redis", "varnish"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	// PostgreSQL runs as its own user and must reach its directories.
	if err := os.Chmod(c.Config.Dir, 0o755); err != nil {
		return err
	}
	if err := c.installDeps(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.buildVitrine(gctx) })
	if c.Config.Jaeger {
		g.Go(func() error { _, err := c.BuildJaeger(gctx); return err })
	}
	g.Go(func() error { return c.installS3(gctx) })
	g.Go(c.makeCert)
	g.Go(c.makeCursorSecret)
	return g.Wait()
}

// startDatabase starts etcd and PostgreSQL under Patroni, applies the
// migrations and makes the admin user when one is asked for.
func (c *Cluster) startDatabase(ctx context.Context) error {
	if err := c.startEtcdCluster(ctx); err != nil {
		return err
	}
	if err := c.startPostgresCluster(ctx); err != nil {
		return err
	}
	migrate := exec.CommandContext(ctx, c.Config.VitrineBin, "migrate", "--postgres-url", c.PostgresURL)
	if err := runCmd(migrate); err != nil {
		return err
	}
	if c.Config.AdminEmail == "" || c.Config.AdminPassword == "" {
		return nil
	}
	user := exec.CommandContext(ctx, c.Config.VitrineBin, "user", "create", "--postgres-url", c.PostgresURL,
		"--email", c.Config.AdminEmail, "--role", "admin")
	// In the environment, where no process list shows it.
	user.Env = append(os.Environ(), "VITRINE_PASSWORD="+c.Config.AdminPassword)
	var out []byte
	out, err := user.CombinedOutput()
	if err != nil && !alreadyExists(out) {
		return fmt.Errorf("creating the admin user %s: %w: %s", c.Config.AdminEmail, err, out)
	}
	return nil
}

// Down stops every process, the instances first; the data stays.
func (c *Cluster) Down(ctx context.Context) error {
	c.down()
	c.logf("stopped (data kept in %s; 'make cluster-clean' removes it)", c.Config.Dir)
	return nil
}

func (c *Cluster) down() {
	for _, z := range Zones {
		_ = c.ThawZone(z) // a frozen process hears no SIGTERM
	}
	var wg sync.WaitGroup
	for _, svc := range Services {
		for i := 1; i <= MaxInstances; i++ {
			if name := c.Instance(svc, i).Name; c.Alive(name) {
				wg.Go(func() { c.stopProcess(name, syscall.SIGTERM, 20*time.Second) })
			}
		}
	}
	wg.Wait()
	// Patroni stops its server; etcd goes last, as Patroni needs it to
	// stop in order.
	for _, kinds := range [][]Kind{
		{KindEntry, KindHAProxy, KindVarnish, KindEdgeStats, KindPrometheus, KindJaeger, KindS3, KindNATS, KindSentinel, KindRedis},
		{KindPostgres}, {KindEtcd},
	} {
		for _, p := range c.fixed {
			if slices.Contains(kinds, p.Kind) {
				wg.Go(func() { c.stopProcess(p.Name, syscall.SIGTERM, time.Minute) })
			}
		}
		wg.Wait()
	}
	pids, _ := filepath.Glob(c.path("pids", "*.pid"))
	for _, f := range pids {
		_ = os.Remove(f)
	}
}

// Clean stops the cluster and removes its directory.
func (c *Cluster) Clean(ctx context.Context) error {
	dir := c.Config.Dir
	if rel, err := filepath.Rel(dir, c.Config.Root); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("refusing to remove %s, which holds the repository: CLUSTER_DIR must be a directory of its own", dir)
	}
	c.down()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	c.logf("stopped, and removed %s", dir)
	return nil
}

// Seed adds n demo products to the catalog. Their pictures go to the S3
// store the product instances serve them from.
func (c *Cluster) Seed(ctx context.Context, n int, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, c.Config.VitrineBin, "seed", "--postgres-url", c.PostgresURL,
		"--blob-url", c.BlobURL, "--products", strconv.Itoa(n))
	cmd.Env = append(os.Environ(), s3Credentials()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("vitrine seed: %w", err)
	}
	return nil
}

// An Action is what Proc does to one process.
type Action string

// The actions on one process: start it, stop it (SIGTERM; an instance is
// drained first), kill it (SIGKILL), restart it.
const (
	Start   Action = "start"
	Stop    Action = "stop"
	Kill    Action = "kill"
	Restart Action = "restart"
)

// Proc starts, stops, kills or restarts one process of the cluster.
func (c *Cluster) Proc(ctx context.Context, action Action, name string) error {
	p, ok := c.Process(name)
	if !ok {
		return fmt.Errorf("unknown process %s", name)
	}
	if p.Kind == KindInstance {
		return c.procInstance(ctx, action, name)
	}
	switch action {
	case Start:
		return c.startFixed(ctx, p)
	case Stop:
		c.stopProcess(name, syscall.SIGTERM, time.Minute)
	case Kill:
		c.stopProcess(name, syscall.SIGKILL, 5*time.Second)
	case Restart:
		c.stopProcess(name, syscall.SIGTERM, time.Minute)
		return c.startFixed(ctx, p)
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return nil
}
