package localcluster

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// startS3 starts the S3 gateway over DIR/s3, whose directories are its
// buckets.
func (c *Cluster) startS3(ctx context.Context) error {
	if c.Alive("s3") {
		return nil
	}
	if err := c.installS3(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(c.path("s3", s3Bucket), 0o755); err != nil {
		return err
	}
	s3 := c.S3()
	err := c.spawn("s3", nil, c.Config.S3Bin, "--access", s3AccessKey, "--secret", s3SecretKey,
		"--port", s3.Addr("http"), "--quiet", "posix", c.path("s3"))
	if err != nil {
		return err
	}
	return c.withLogTail("s3", waitUntil(ctx, 20*time.Second, "the S3 gateway", tcpOpen(s3.Addr("http"))))
}

// startJaeger starts Jaeger with deploy/local/jaeger.yaml, whose addresses
// come from the environment.
func (c *Cluster) startJaeger(ctx context.Context) error {
	if c.Alive("jaeger") {
		return nil
	}
	j, _ := c.Process("jaeger")
	env := []string{"JAEGER_OTLP_ADDR=" + j.Addr("otlp"), "JAEGER_QUERY_ADDR=" + j.Addr("http"), "JAEGER_QUERY_GRPC_ADDR=" + j.Addr("grpc")}
	err := c.spawn("jaeger", env, c.Config.JaegerBin, "--config", filepath.Join(c.Config.Root, "deploy", "local", "jaeger.yaml"))
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, time.Minute, "Jaeger", httpOK(c.JaegerURL+"/api/services")); err != nil {
		return c.withLogTail("jaeger", err)
	}
	return c.withLogTail("jaeger", waitUntil(ctx, 30*time.Second, "Jaeger's OTLP receiver", tcpOpen(j.Addr("otlp"))))
}

// startPrometheus starts Debian's prometheus with a copy of the
// configuration and rules of deploy/observability: the targets' paths are
// relative to the configuration file, so they live beside the copy.
func (c *Cluster) startPrometheus(ctx context.Context) error {
	if c.Alive("prometheus") {
		return nil
	}
	dir := c.path("prometheus")
	obs := filepath.Join(c.Config.Root, "deploy", "observability")
	for _, d := range []string{"rules", "data", "targets", "edge"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for src, dst := range map[string]string{
		"prometheus.yml": "prometheus.yml", "rules/recording.yml": "rules/recording.yml", "rules/alerts.yml": "rules/alerts.yml",
	} {
		b, err := os.ReadFile(filepath.Join(obs, src))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			return err
		}
	}
	if err := c.writeTargets(); err != nil {
		return err
	}
	if err := c.writeEdgeTargets(); err != nil {
		return err
	}
	prom := c.Prometheus()
	err := c.spawn("prometheus", nil, "prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+prom.Addr("http"),
		"--storage.tsdb.retention.time=7d")
	if err != nil {
		return err
	}
	return c.withLogTail("prometheus", waitUntil(ctx, 30*time.Second, "Prometheus", httpOK(c.PrometheusURL+"/-/ready")))
}

// A scrapeGroup is one entry of a file_sd targets file.
type scrapeGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// TargetsFile is where Prometheus finds a service's instances (file_sd,
// see deploy/observability/prometheus.yml).
func (l *Layout) TargetsFile(service string) string {
	return l.path("prometheus", "targets", service+".json")
}

// writeTargets writes, for each service, the admin addresses of its
// running instances, whole then moved into place so that Prometheus never
// reads half a file. Written when an instance starts or stops: a killed
// one stays listed until then (a crash shows as up == 0).
func (c *Cluster) writeTargets() error {
	c.targetsMu.Lock()
	defer c.targetsMu.Unlock()
	for _, svc := range Services {
		groups := []scrapeGroup{}
		for _, inst := range c.running(svc) {
			groups = append(groups, scrapeGroup{Targets: []string{inst.Addr("admin")},
				Labels: map[string]string{"service": svc, "instance": inst.Name}})
		}
		if err := writeJSONFile(c.TargetsFile(svc), groups); err != nil {
			return err
		}
	}
	return nil
}

// writeJSONFile writes v to file whole, then moves it into place, so that
// Prometheus never reads half a file.
func writeJSONFile(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(file+".new", append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(file+".new", file)
}
