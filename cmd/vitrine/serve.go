package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/obs"
	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
)

// serveConfig is the configuration of vitrine serve: the process's own
// (listeners, shutdown, logs, traces), then the modules'.
type serveConfig struct {
	addr            string
	adminAddr       string
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	otlpEndpoint    string
	logLevel        string
	modules         modules.Config
}

// flagGroups are the parts of the configuration, in the order --help
// lists their flags.
func (c *serveConfig) flagGroups() []modules.FlagGroup {
	return append([]modules.FlagGroup{{Title: "Process", RegisterFlags: c.registerProcessFlags}}, c.modules.FlagGroups()...)
}

func (c *serveConfig) registerProcessFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.adminAddr, "admin-addr", "", "private address for /metrics and pprof (e.g. 127.0.0.1:6060); empty disables it")
	fs.DurationVar(&c.drainDelay, "drain-delay", 0, "time between failing /readyz and closing the listener, so load balancers notice")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 20*time.Second, "time allowed for in-flight requests to finish")
	fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", "", "OTLP/HTTP URL to export traces to (e.g. http://127.0.0.1:4318); empty exports only when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set")
	registerLogLevel(fs, &c.logLevel)
}

// serve runs the targeted services until ctx ends, then drains: /readyz
// turns 503, in-flight requests finish, stores close.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := parseWithHelp(fs, registerGroups(fs, cfg.flagGroups()), args, getenv, stderr); err != nil {
		return err
	}
	if err := cfg.modules.Validate(); err != nil {
		return err
	}
	logger := slog.New(httpx.WithRequestIDs(obs.NewLogger(stderr, cfg.logLevel).Handler()))
	slog.SetDefault(logger)
	tracer, err := startTracing(ctx, cfg.otlpEndpoint, cfg.modules.Targets, getenv)
	if err != nil {
		return err
	}
	defer func() {
		// The spans still buffered go out once the services have stopped.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(ctx); err != nil {
			logger.Warn("tracing: last spans not exported", "err", err)
		}
	}()
	cfg.modules.Logger, cfg.modules.Tracer = logger, tracer.TracerProvider()

	app, err := modules.New(ctx, cfg.modules)
	if err != nil {
		return err
	}
	defer app.Close()
	return listenAndServe(ctx, cfg, app, logger, stdout)
}

// listenAndServe serves app on --addr (and its metrics on --admin-addr)
// until ctx ends, then drains.
func listenAndServe(ctx context.Context, cfg serveConfig, app *modules.App, logger *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.adminAddr != "" {
		stopAdmin, err := serveAdmin(cfg.adminAddr, app, logger, stdout)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopAdmin()
	}
	logger.Info("vitrine listening", "addr", ln.Addr().String(), "targets", cfg.modules.Targets)
	fmt.Fprintf(stdout, "vitrine listening on http://%s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("draining")
	app.Drain()
	time.Sleep(cfg.drainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// serveAdmin serves the admin server on addr in the background, and
// returns what stops it.
func serveAdmin(addr string, app *modules.App, logger *slog.Logger, stdout io.Writer) (stop func() error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--admin-addr: %w", err)
	}
	admin := adminServer(app.Metrics(), logger)
	go func() {
		if err := admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin server", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "vitrine admin on http://%s (metrics, pprof)\n", ln.Addr())
	return admin.Close, nil
}

// adminServer serves what only operators may see, on a separate, private
// address: Prometheus metrics and pprof.
func adminServer(metrics http.Handler, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// startTracing starts exporting traces when --otlp-endpoint or the
// standard OTEL_EXPORTER_OTLP_*ENDPOINT variables name a collector, unless
// OTEL_SDK_DISABLED is true. It returns nil (tracing off) otherwise.
func startTracing(ctx context.Context, endpoint string, targets []string, getenv func(string) string) (*tracing.Provider, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	p, err := tracing.Start(ctx, tracing.Config{
		Endpoint:    endpoint,
		FromEnv:     getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "",
		ServiceName: "vitrine-" + strings.Join(targets, "-"),
	})
	if err != nil {
		return nil, fmt.Errorf("--otlp-endpoint: %w", err)
	}
	return p, nil
}
