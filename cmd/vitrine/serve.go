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
	"time"

	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/platform/obs"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
)

// serve runs the targeted services until ctx ends, then drains: /readyz
// turns 503, in-flight requests finish, stores close.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var err error
	var (
		sf              storeFlags
		addr            = fs.String("addr", "127.0.0.1:8080", "address to listen on")
		target          = fs.String("target", modules.All, "services to run: all, or a comma list of "+modules.ServiceList())
		authURL         = fs.String("auth-url", "", "base URL of the auth service, when it runs in another process (its JWKS verifies tokens)")
		natsURL         = fs.String("nats-url", "", "NATS JetStream URL; empty embeds a server that keeps its streams under --data-dir")
		namespace       = fs.String("namespace", "", "prefix of stream names, subjects and Redis keys, so deployments can share a NATS and a Redis server")
		redisURL        = fs.String("redis-url", "", "Redis URL for the shared cache; empty keeps the cache in-process")
		synonyms        = fs.String("synonyms", "", "search synonyms file: lines like \"tv, television\" or \"sofa => couch\"")
		cursorSecret    = fs.String("cursor-secret", "", "secret (at least 32 bytes) that signs listing cursors, the same on every product instance; empty keeps a generated one in the product store")
		adminAddr       = fs.String("admin-addr", "", "address for pprof (e.g. 127.0.0.1:6060); empty disables it")
		maxInFlight     = fs.Int("max-in-flight", 4096, "requests served at once before answering 503 (load shedding); 0 disables")
		accessTTL       = fs.Duration("access-ttl", 15*time.Minute, "lifetime of access tokens")
		drainDelay      = fs.Duration("drain-delay", 0, "time between failing /readyz and closing the listener, so load balancers notice")
		shutdownTimeout = fs.Duration("shutdown-timeout", 20*time.Second, "time allowed for in-flight requests to finish")
	)
	limits := ratelimit.DefaultConfig()
	fs.TextVar(&limits.PerIP, "rate-limit-ip", limits.PerIP, "requests per client IP for anonymous callers, as RATE/PERIOD[:BURST] (e.g. 50/s:100), or off")
	fs.TextVar(&limits.PerUser, "rate-limit-user", limits.PerUser, "requests per signed-in user, as RATE/PERIOD[:BURST], or off")
	fs.TextVar(&limits.Login, "rate-limit-login", limits.Login, "login and register attempts per client IP, as RATE/PERIOD[:BURST], or off")
	trustedProxies := fs.String("trusted-proxies", "", "comma list of CIDRs of load balancers whose X-Forwarded-For is believed")
	sf.register(fs)
	if err := parse(fs, args, getenv, stderr); err != nil {
		return err
	}
	if limits.TrustedProxies, err = ratelimit.ParseCIDRs(*trustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if err := limits.Validate(); err != nil {
		return err
	}
	targets, err := modules.ParseTargets(*target)
	if err != nil {
		return err
	}
	logger := obs.NewLogger(stderr, sf.logLevel)
	slog.SetDefault(logger)
	cfg := sf.config(targets)
	cfg.AuthURL, cfg.AccessTTL, cfg.MaxInFlight, cfg.Logger = *authURL, *accessTTL, *maxInFlight, logger
	cfg.NATSURL, cfg.Namespace, cfg.RedisURL, cfg.RateLimits, cfg.Synonyms = *natsURL, *namespace, *redisURL, limits, *synonyms
	cfg.CursorSecret = *cursorSecret

	app, err := modules.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer app.Close()

	ln, err := net.Listen("tcp", *addr)
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
	if *adminAddr != "" {
		go serveAdmin(ctx, *adminAddr, logger)
	}
	logger.Info("vitrine listening", "addr", ln.Addr().String(), "targets", targets)
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
	time.Sleep(*drainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
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

// serveAdmin exposes pprof on a separate, normally private, address.
func serveAdmin(ctx context.Context, addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("admin server", "err", err)
	}
}
