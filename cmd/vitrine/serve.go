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
	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
	"github.com/vitrine-dev/vitrine/internal/platform/obs"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/tracing"
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
		streamReplicas  = fs.Int("stream-replicas", 1, "servers of the NATS cluster that keep each stream (3 in a three-node cluster)")
		staleAfter      = fs.Duration("catalog-stale-after", modules.DefaultCatalogStaleAfter, "how long a product instance that lost the event stream keeps serving from its cache before it reads from the database")
		namespace       = fs.String("namespace", "", "prefix of stream names, subjects and Redis keys, so deployments can share a NATS and a Redis server")
		redisURL        = fs.String("redis-url", "", "Redis URL for the shared cache; empty keeps the cache in-process")
		blobURL         = fs.String("blob-url", "", "where product pictures are kept: file:///a/dir, or s3://bucket?endpoint=…&region=…&use_path_style=true for any S3-compatible store (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); empty keeps them under --data-dir/blobs")
		synonyms        = fs.String("synonyms", "", "search synonyms file: lines like \"tv, television\" or \"sofa => couch\"")
		cursorSecret    = fs.String("cursor-secret", "", "secret (at least 32 bytes) that signs listing cursors, the same on every product instance; empty keeps a generated one in the product store")
		adminAddr       = fs.String("admin-addr", "", "private address for /metrics and pprof (e.g. 127.0.0.1:6060); empty disables it")
		maxInFlight     = fs.Int("max-in-flight", 4096, "requests served at once before answering 503 (load shedding); 0 disables")
		perClient       = fs.Int("max-in-flight-per-client", 64, "requests one client address may have in flight at once before it alone gets 429; 0 disables")
		bodyTimeout     = fs.Duration("body-timeout", 10*time.Second, "time a request body has to arrive before a 408; 0 leaves only the 30s read timeout")
		corsOrigins     = fs.String("cors-origins", "", "comma list of origins whose browser scripts may call the API (https://shop.example, https://*.shop.example or *); empty sends no CORS headers")
		accessTTL       = fs.Duration("access-ttl", 15*time.Minute, "lifetime of access tokens")
		drainDelay      = fs.Duration("drain-delay", 0, "time between failing /readyz and closing the listener, so load balancers notice")
		shutdownTimeout = fs.Duration("shutdown-timeout", 20*time.Second, "time allowed for in-flight requests to finish")
		otlpEndpoint    = fs.String("otlp-endpoint", "", "OTLP/HTTP URL to export traces to (e.g. http://127.0.0.1:4318); empty exports only when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set")
	)
	limits := ratelimit.DefaultConfig()
	fs.TextVar(&limits.PerIP, "rate-limit-ip", limits.PerIP, "requests per client IP, signed in or not (checked before tokens), as RATE/PERIOD[:BURST] (e.g. 50/s:100), or off")
	fs.TextVar(&limits.PerUser, "rate-limit-user", limits.PerUser, "requests per signed-in user, on top of the per-IP limit, as RATE/PERIOD[:BURST], or off")
	fs.TextVar(&limits.Login, "rate-limit-login", limits.Login, "login and register attempts per client IP, as RATE/PERIOD[:BURST], or off")
	var replicaURLs urlList
	fs.Var(&replicaURLs, "postgres-replica-url", "PostgreSQL read replica of --postgres-url for the product and analytics reads that may lag (repeatable; in the environment or its file, URLs separated by spaces or newlines)")
	replicaMaxLag := fs.Duration("replica-max-lag", sqldb.DefaultReplicaMaxLag, "a replica further behind the primary than this leaves the read pool until it catches up")
	trustedProxies := fs.String("trusted-proxies", "", "comma list of CIDRs of load balancers whose X-Forwarded-For and X-Vitrine-Recent-Writer are believed")
	backoff := ratelimit.DefaultThrottlePolicy()
	fs.IntVar(&backoff.After, "login-throttle-after", backoff.After, "failed logins in a row on one account, from any address, before it must wait")
	fs.DurationVar(&backoff.Wait, "login-throttle-wait", backoff.Wait, "first wait of a throttled account; each further failure doubles it")
	fs.DurationVar(&backoff.MaxWait, "login-throttle-max", backoff.MaxWait, "longest wait of a throttled account")
	var breakers resilience.Policy
	registerBreakerFlags(fs, &breakers)
	authURLInsecure := fs.Bool("auth-url-insecure", false, "allow a plain http:// --auth-url to a host other than loopback (tokens' keys then travel unprotected)")
	sf.register(fs)
	if err := parse(fs, args, getenv, stderr); err != nil {
		return err
	}
	if len(replicaURLs) > 0 && sf.postgresURL == "" {
		return errors.New("--postgres-replica-url needs --postgres-url, the primary")
	}
	if *replicaMaxLag <= 0 {
		return errors.New("--replica-max-lag must be positive")
	}
	proxies, err := httpx.ParseTrustedProxies(*trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if err := limits.Validate(); err != nil {
		return err
	}
	if *perClient < 0 || *maxInFlight < 0 || *bodyTimeout < 0 {
		return errors.New("--max-in-flight, --max-in-flight-per-client and --body-timeout must not be negative")
	}
	if err := backoff.Validate(); err != nil {
		return fmt.Errorf("--login-throttle-*: %w", err)
	}
	if err := breakers.Validate(); err != nil {
		return err
	}
	if *authURL != "" {
		if err := authn.CheckAuthURL(*authURL, *authURLInsecure); err != nil {
			return fmt.Errorf("--auth-url: %w", err)
		}
	}
	targets, err := modules.ParseTargets(*target)
	if err != nil {
		return err
	}
	logger := slog.New(httpx.WithRequestIDs(obs.NewLogger(stderr, sf.logLevel).Handler()))
	slog.SetDefault(logger)
	cfg := sf.config(targets)
	cfg.AuthURL, cfg.AccessTTL, cfg.MaxInFlight, cfg.Logger = *authURL, *accessTTL, *maxInFlight, logger
	cfg.NATSURL, cfg.Namespace, cfg.RedisURL, cfg.RateLimits, cfg.Synonyms = *natsURL, *namespace, *redisURL, limits, *synonyms
	cfg.MaxInFlightPerClient, cfg.BodyTimeout, cfg.CORSOrigins = *perClient, *bodyTimeout, splitList(*corsOrigins)
	cfg.LoginThrottle, cfg.TrustedProxies = backoff, proxies
	cfg.CursorSecret = *cursorSecret
	cfg.BlobURL = *blobURL
	cfg.StreamReplicas = *streamReplicas
	cfg.CatalogStaleAfter = *staleAfter
	cfg.PostgresReplicaURLs, cfg.ReplicaMaxLag = replicaURLs, *replicaMaxLag

	tracer, err := startTracing(ctx, *otlpEndpoint, targets, getenv)
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
	cfg.Tracer = tracer.TracerProvider()
	cfg.Breakers = breakers

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
		adminLn, err := net.Listen("tcp", *adminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--admin-addr: %w", err)
		}
		admin := adminServer(app.Metrics(), logger)
		go func() {
			if err := admin.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("admin server", "err", err)
			}
		}()
		defer admin.Close()
		fmt.Fprintf(stdout, "vitrine admin on http://%s (metrics, pprof)\n", adminLn.Addr())
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

// splitList reads a comma list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
