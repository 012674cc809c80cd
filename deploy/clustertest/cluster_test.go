// Package clustertest brings up the local cluster of deploy/localcluster
// (three zones, each with a PostgreSQL server under Patroni and an etcd
// member, a Redis server and a Sentinel, a NATS node, an HAProxy and an
// instance of every service; the entry in front; Prometheus, Jaeger and
// the S3 gateway) in a temporary directory, runs the main flows through
// the entry, then breaks it under load, up to losing a whole zone.
//
// These tests start some twenty real processes and run for minutes, so they
// only run when VITRINE_CLUSTER_TEST=1 (make cluster-test). Everything
// listens on loopback, on ports of its own (the 2xxxx range), and is torn
// down at the end, also when a test fails. Every address comes from the
// cluster's layout.
package clustertest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"
	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

const (
	adminEmail    = "ops@cluster.test"
	adminPassword = "cluster admin password"
)

// cluster is a running localcluster.Cluster and what the tests need to
// talk to it.
type cluster struct {
	t      *testing.T
	cl     *localcluster.Cluster
	layout *localcluster.Layout
	dir    string
	URL    string
	TLSURL string
	bin    string
	client *http.Client
}

func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// startCluster brings a cluster up in a fresh directory and registers its
// teardown.
func startCluster(t *testing.T) *cluster {
	if os.Getenv("VITRINE_CLUSTER_TEST") != "1" {
		t.Skip("the cluster test runs with VITRINE_CLUSTER_TEST=1 (make cluster-test)")
	}
	for _, bin := range []string{"haproxy", "nats-server", "redis-server", "redis-sentinel", "redis-cli", "psql", "prometheus", "socat",
		"patroni", "etcd"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: the cluster test needs it", bin)
		}
	}
	dir, err := os.MkdirTemp("", "vitrine-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := localcluster.Open(testConfig(t, dir), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, cl: cl, layout: cl.Layout, dir: dir, URL: cl.URL, TLSURL: cl.TLSURL, bin: cl.Config.VitrineBin}
	c.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the cluster's self-signed certificate
	}}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cl.Down(ctx); err != nil {
			t.Errorf("cluster down: %v", err)
		}
		if os.Getenv("VITRINE_CLUSTER_KEEP") == "" {
			os.RemoveAll(dir)
		}
	})
	// Jaeger is built once per machine and kept; its first build takes
	// long, so it has a time limit of its own, not up's.
	start := time.Now()
	c.op(30*time.Minute, "building Jaeger", func(ctx context.Context) error { _, err := cl.BuildJaeger(ctx); return err })
	if took := time.Since(start); took > 10*time.Second {
		t.Logf("Jaeger built in %s", took.Round(time.Second))
	}
	c.op(5*time.Minute, "cluster up", cl.Up)
	return c
}

// testConfig is the test's cluster: in dir, on the ports of the range
// VITRINE_CLUSTER_PORTS picks (2 by default: 28088, 25432...), so that two
// runs on one machine can live side by side; what the machine has
// (PG_BIN, JAEGER_BIN, the cache) from the environment, the rest the
// test's own.
func testConfig(t *testing.T, dir string) localcluster.Config {
	t.Helper()
	d := os.Getenv("VITRINE_CLUSTER_PORTS")
	switch d {
	case "":
		d = "2"
	case "2", "3", "4", "5":
	default:
		t.Fatalf("VITRINE_CLUSTER_PORTS=%q: want 2, 3, 4 or 5", d)
	}
	machine := func(name string) string {
		if strings.HasPrefix(name, "CLUSTER_") || strings.HasPrefix(name, "OTEL_") {
			return ""
		}
		return os.Getenv(name)
	}
	cfg, err := localcluster.LoadConfig(root(), machine)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	if os.Getenv("VITRINE_BIN") == "" {
		cfg.VitrineBin = filepath.Join(dir, "bin", "vitrine")
	}
	cfg.Ports = localcluster.DefaultPorts().InRange(int(d[0] - '0'))
	cfg.AdminEmail, cfg.AdminPassword = adminEmail, adminPassword
	// The instances trace one request in a hundred of the fault tests'
	// load, and every request whose caller asks for it (a sampled
	// traceparent, as the tracing test sends), and export every second.
	cfg.Sampler, cfg.SamplerArg = "parentbased_traceidratio", "0.01"
	cfg.InstanceEnv = []string{"OTEL_BSP_SCHEDULE_DELAY=1000"}
	return cfg
}

// testLog writes what the cluster does to the test's log.
type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// op runs one cluster operation the test cannot go on without, bounded in
// time.
func (c *cluster) op(limit time.Duration, what string, f func(context.Context) error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := f(ctx); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// proc starts, stops, kills or restarts one process of the cluster.
func (c *cluster) proc(action localcluster.Action, name string) {
	c.t.Helper()
	c.op(3*time.Minute, string(action)+" "+name, func(ctx context.Context) error { return c.cl.Proc(ctx, action, name) })
}

// scale sets the number of instances of a service.
func (c *cluster) scale(service string, n int) {
	c.t.Helper()
	c.op(3*time.Minute, fmt.Sprintf("scale %s %d", service, n), func(ctx context.Context) error { return c.cl.Scale(ctx, service, n) })
}

// vitrine runs a vitrine subcommand against the cluster's database.
func (c *cluster) vitrine(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), "VITRINE_POSTGRES_URL="+c.layout.PostgresURL)
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("vitrine %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func (c *cluster) dumpLogs() {
	logs, _ := filepath.Glob(c.layout.LogFile("*"))
	for _, f := range logs {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		c.t.Logf("--- %s (last lines)\n%s", filepath.Base(f), strings.Join(lines, "\n"))
	}
}

// response is what a client sees.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// do sends a request through the load balancer (base is c.URL or c.TLSURL).
func (c *cluster) do(method, url, token string, body any, header ...string) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: data}
}

func (c *cluster) expect(want int, method, path, token string, body any, header ...string) response {
	c.t.Helper()
	r := c.do(method, c.URL+path, token, body, header...)
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

func (c *cluster) login(email, password string) string {
	c.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.expect(200, "POST", "/api/auth/login", "", map[string]string{"email": email, "password": password}).json(c.t, &tok)
	return tok.AccessToken
}

// eventually waits for cond (testwait.Until).
var eventually = testwait.Until

// load is a "vitrine bench" run through HAProxy, stopped by its duration or
// by stop.
type load struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	errb bytes.Buffer
}

// startLoad sends rate requests/s of the shoppers' mix through HAProxy,
// from 64 loopback addresses (so per-address limits see many shoppers),
// for at most limit.
func (c *cluster) startLoad(rate int, limit time.Duration, extra ...string) *load {
	c.t.Helper()
	l := &load{}
	args := append([]string{"bench", "--target", c.URL, "--rate", fmt.Sprint(rate), "--duration", limit.String(),
		"--source-addrs", "127.0.8.0/26", "--conns", "64", "--timeout", "5s", "--json"}, extra...)
	l.cmd = exec.Command(c.bin, args...)
	l.cmd.Stdout, l.cmd.Stderr = &l.out, &l.errb
	if err := l.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	return l
}

// wait ends the run (SIGINT, after which bench still prints its report)
// and returns the report.
func (l *load) stop(t *testing.T) bench.Report {
	t.Helper()
	_ = l.cmd.Process.Signal(syscall.SIGINT)
	return l.wait(t)
}

func (l *load) wait(t *testing.T) bench.Report {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("bench: %v\n%s", err, l.errb.String())
		}
	case <-time.After(3 * time.Minute):
		_ = l.cmd.Process.Kill()
		t.Fatal("bench did not stop")
	}
	var r bench.Report
	if err := json.Unmarshal(l.out.Bytes(), &r); err != nil {
		t.Fatalf("bench report: %v\n%s", err, l.out.String())
	}
	return r
}

// phases is a fault's record: a steady load before, during and after it.
type phases struct {
	name                  string
	before, during, after bench.Report
	outcome               string
}

var results []phases

func (p phases) failures() int64 { return p.before.Errors + p.during.Errors + p.after.Errors }

func fmtPhase(r bench.Report) string {
	return fmt.Sprintf("%d req, %d failed, p99 %.1f ms", r.Requests, r.Errors, float64(r.Latency.P99)/1000)
}

// underLoad measures a steady load for a few seconds, then applies fault
// under the same load, then measures again once it is over.
func (c *cluster) underLoad(name string, rate int, fault func(), extra ...string) phases {
	c.t.Helper()
	p := phases{name: name}
	p.before = c.startLoad(rate, 5*time.Second, extra...).wait(c.t)
	l := c.startLoad(rate, 10*time.Minute, extra...)
	defer func() { _ = l.cmd.Process.Kill() }() // when fault fails the test; a no-op after stop
	time.Sleep(2 * time.Second)
	fault()
	time.Sleep(2 * time.Second)
	p.during = l.stop(c.t)
	p.after = c.startLoad(rate, 5*time.Second, extra...).wait(c.t)
	c.t.Logf("%s: before %s; during %s; after %s", name, fmtPhase(p.before), fmtPhase(p.during), fmtPhase(p.after))
	for _, r := range []bench.Report{p.before, p.during, p.after} {
		if r.Errors > 0 {
			c.t.Logf("errors by status %v, transport %v %v", r.ErrorsByStatus, r.TransportErrors, r.TransportErrorSamples)
		}
	}
	return p
}

// record keeps a fault's figures for the report written at the end.
func record(p phases) { results = append(results, p) }

// writeReport prints the figures as a Markdown table, and writes them to
// $CLUSTER_REPORT when set (docs/operations.md quotes them).
func writeReport(t *testing.T) {
	if len(results) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| fault | before | during | after | outcome |\n|---|---|---|---|---|\n")
	for _, p := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.name, fmtPhase(p.before), fmtPhase(p.during), fmtPhase(p.after), p.outcome)
	}
	t.Logf("fault figures:\n%s", b.String())
	if f := os.Getenv("CLUSTER_REPORT"); f != "" {
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func jsonDecode(res *http.Response, v any) error {
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}
