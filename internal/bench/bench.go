// Package bench is `vitrine bench`, the load generator that ships inside the
// vitrine binary the way pgbench ships with PostgreSQL.
//
// It drives a running Vitrine over its public HTTP API in one of two models:
//
//   - closed (default): --users simulated shoppers, each repeating "pick an
//     action from the mix, send it, think for an exponentially distributed
//     time". Users are not goroutines: they are entries in a wake-up heap
//     served by a fixed pool of workers, so 100,000 sleeping users cost a few
//     megabytes and no file descriptors.
//   - open (--rate): requests arrive on a fixed schedule t0+i/R whatever the
//     server does, and latency is measured from that intended time, so a
//     stalled server shows up in the percentiles (no coordinated omission).
//
// --path replaces the mix by fixed URLs sent back to back by --concurrency
// workers; with --baseline-server the same binary serves a bare copy of those
// URLs, so a cached Vitrine handler and a bare net/http handler can be
// measured by the same tool in the same run.
//
// A user acts in sessions: with --email/--password it logs in once at the
// start of a session, browses with its bearer token, refreshes the token
// before it expires, and after --session-actions actions (or
// --session-time) starts a new session. Searches are drawn from a Zipf
// distribution over words and phrases of the catalog, with a tail of rare
// queries and some misspelt ones, fixed by --seed.
//
// Every request of every user goes through one bounded http.Transport
// (--conns connections per host), as traffic behind a load balancer does;
// or, with --source-addrs, through one transport per loopback source
// address, the connections spread evenly over them and each user keeping
// one address, as shoppers arriving from many addresses do.
// Latencies go into HDR histograms (1µs..60s, 3 significant digits), one per
// action and one overall.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/flagenv"
)

// Main runs `vitrine bench` with args (without the subcommand name). It
// prints progress to stderr and the report to stdout, and returns when the
// run has ended: after --duration, or earlier when ctx is cancelled (the
// report is still printed then).
//
// Every flag may also come from the environment, as VITRINE_BENCH_<FLAG>
// (VITRINE_BENCH_TARGET for --target), the convention of the other
// commands with the command's name in the prefix: --target means another
// thing to vitrine serve.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return run(ctx, args, getenv, stdout, stderr)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		fmt.Fprintln(stderr, "run 'vitrine bench --help' for usage")
		return fmt.Errorf("bench: %w", err)
	}
	if cfg.baselineServer {
		ln, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			return fmt.Errorf("bench: baseline server: %w", err)
		}
		return BaselineServer(ctx, ln, cfg.fetchFrom, stderr)
	}
	report, err := Run(ctx, cfg.Options, stderr)
	if err != nil {
		return err
	}
	if cfg.json {
		return report.WriteJSON(stdout)
	}
	return report.WriteText(stdout)
}

// cliConfig is what the command line asks for: a load run, or the baseline
// server.
type cliConfig struct {
	Options
	json           bool
	baselineServer bool
	addr           string
	fetchFrom      []string
}

const usageText = `usage: vitrine bench [flags]

Load generator for a running Vitrine (as pgbench is for PostgreSQL).

  vitrine bench --users 100000 --think 10s --duration 60s
      closed model: 100,000 shoppers browsing, viewing products, searching
      and looking at bestsellers, each thinking ~10s between actions (about
      10,000 requests/s)
  vitrine bench --users 100000 --email shopper@example.com --password ... \
      --session-actions 20 --source-addrs 127.0.8.0/21 --conns 2048
      the same shoppers in sessions that log in once, browse with their
      token and refresh it before it expires, over 2,048 connections from
      2,048 loopback addresses (one each), so per-address limits on the
      server see per-shopper traffic
  vitrine bench --rate 2000 --duration 30s
      open model: 2,000 requests/s on a fixed schedule; latency is measured
      from the intended send time, so server stalls are not hidden
  vitrine bench --path /api/products/ID --concurrency 64
      hammer fixed URLs with 64 workers and no think time
  vitrine bench --baseline-server --addr 127.0.0.1:9090 \
      --fetch-from http://127.0.0.1:8080/api/products/ID
      serve a bare copy of those responses, to compare against:
  vitrine bench --path http://127.0.0.1:8080/api/products/ID,http://127.0.0.1:9090/api/products/ID

The report gives throughput and p50/p90/p95/p99/p99.9/max latency per action
(login and refresh included) and overall, sessions and logins per session,
errors by status and transport errors by kind. Ctrl-C stops the run early
and still prints it.

Environment: every flag as VITRINE_BENCH_<FLAG> (VITRINE_BENCH_TARGET,
VITRINE_BENCH_EMAIL, VITRINE_BENCH_PASSWORD...); a flag given wins.

Flags:
`

// envPrefix begins the environment variable of every bench flag.
const envPrefix = "VITRINE_BENCH_"

func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (cliConfig, error) {
	cfg := cliConfig{Options: DefaultOptions()}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help goes to stdout

	target := "http://127.0.0.1:8080"
	fs.StringVar(&target, "target", target, "base URL of the Vitrine to load")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "closed model: number of simulated users")
	fs.DurationVar(&cfg.Think, "think", cfg.Think, "closed model: mean think time between a user's actions (exponentially distributed)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured length of the run")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "load sent before the measured window and left out of the report")
	mixText := cfg.Mix.String()
	fs.StringVar(&mixText, "mix", mixText, "closed and open models: action weights, name=weight,... (browse, product, search, bestsellers); logins belong to sessions")
	fs.IntVar(&cfg.SessionActions, "session-actions", cfg.SessionActions, "actions of a session (logins and refreshes aside); the next action starts a new session, which logs in again")
	fs.DurationVar(&cfg.SessionTime, "session-time", cfg.SessionTime, "longest session; 0: sessions end by --session-actions only")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the search query distribution (which queries are popular, which misspelt)")
	sourceAddrs := ""
	fs.StringVar(&sourceAddrs, "source-addrs", "", "loopback addresses to connect from, a CIDR block or comma list (e.g. 127.0.8.0/21); --conns is spread evenly over them and each user keeps one")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open model: requests per second on a fixed schedule (0: closed model)")
	fs.Var((*listFlag)(&cfg.Paths), "path", "fixed URL paths or absolute URLs to send instead of the mix (repeatable or comma list)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "workers sending requests: with --path, the number of back-to-back senders; in the open model, how many requests may be outstanding (0: --conns)")
	fs.IntVar(&cfg.Conns, "conns", cfg.Conns, "keep-alive connections per host, all users sharing them (MaxConnsPerHost = MaxIdleConnsPerHost); with --source-addrs, spread over the addresses")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "deadline of each request")
	fs.StringVar(&cfg.Email, "email", cfg.Email, "account every session logs in with; without it sessions are anonymous")
	fs.StringVar(&cfg.Password, "password", cfg.Password, "its password (better given as VITRINE_BENCH_PASSWORD)")
	fs.BoolVar(&cfg.json, "json", false, "print the report as one JSON object")
	fs.BoolVar(&cfg.baselineServer, "baseline-server", false, "serve a bare copy of the --fetch-from responses instead of running a load")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:9090", "baseline server: listen address")
	fs.Var((*listFlag)(&cfg.fetchFrom), "fetch-from", "baseline server: URLs to fetch once at start and serve at the same paths (repeatable or comma list)")

	if err := flagenv.Parse(fs, args, getenv, envPrefix); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageText)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return cfg, err
	}
	if cfg.baselineServer {
		if len(cfg.fetchFrom) == 0 {
			return cfg, errors.New("--baseline-server needs --fetch-from with one or more URLs")
		}
		return cfg, nil
	}
	mix, err := parseMix(mixText)
	if err != nil {
		return cfg, fmt.Errorf("--mix: %w", err)
	}
	cfg.Mix = mix
	if sourceAddrs != "" {
		if cfg.SourceAddrs, err = parseSourceAddrs(sourceAddrs); err != nil {
			return cfg, fmt.Errorf("--source-addrs: %w", err)
		}
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("--target %q: want an http:// or https:// base URL", target)
	}
	cfg.Target = strings.TrimRight(u.String(), "/")
	return cfg, cfg.Options.validate()
}

// listFlag is a repeatable flag whose values may also be comma lists.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// Options configures one load run. The zero value is not useful; start from
// DefaultOptions.
type Options struct {
	Target   string        // base URL of the Vitrine, no trailing slash
	Users    int           // closed model: simulated users
	Think    time.Duration // closed model: mean think time (exponential)
	Duration time.Duration // measured window
	Warmup   time.Duration // load sent before the window, not reported
	Mix      Mix           // action weights (ignored with Paths)
	Rate     float64       // requests/s; > 0 selects the open model
	// Paths, when set, replaces the mix: paths relative to Target, or
	// absolute URLs (to load Vitrine and a baseline server side by side).
	// Without Rate they are sent back to back by Concurrency workers.
	Paths       []string
	Concurrency int // sending workers; 0 means Conns
	Conns       int // connections per host, over all source addresses
	// SourceAddrs are loopback addresses to connect from, Conns spread
	// evenly over them; none: the system picks (127.0.0.1 for a loopback
	// target).
	SourceAddrs    []netip.Addr
	Timeout        time.Duration
	Email          string // account every session logs in with; empty: anonymous sessions
	Password       string
	SessionActions int           // browsing actions per session
	SessionTime    time.Duration // longest session; 0: no limit
	Seed           uint64        // of the search query distribution
}

// DefaultOptions are the flags' defaults.
func DefaultOptions() Options {
	return Options{
		Target:   "http://127.0.0.1:8080",
		Users:    100,
		Think:    10 * time.Second,
		Duration: 30 * time.Second,
		Mix:      DefaultMix,
		Conns:    256,
		Timeout:  10 * time.Second,
		// With the default mix and a login per session, one request in 21
		// is a login, about the login share shoppers have.
		SessionActions: 20,
		Seed:           1,
	}
}

// Bounds that keep a mistyped flag from starting a run that cannot end well.
const (
	maxUsers       = 1_000_000
	maxConcurrency = 100_000
	maxConns       = 100_000
)

func (o *Options) validate() error {
	switch {
	case o.Duration <= 0:
		return errors.New("--duration must be positive")
	case o.Warmup < 0:
		return errors.New("--warmup must not be negative")
	case o.Think < 0:
		return errors.New("--think must not be negative")
	case o.Rate < 0:
		return errors.New("--rate must not be negative")
	case o.Users < 1 || o.Users > maxUsers:
		return fmt.Errorf("--users must be in 1..%d", maxUsers)
	case o.Conns < 1 || o.Conns > maxConns:
		return fmt.Errorf("--conns must be in 1..%d", maxConns)
	case o.Concurrency < 0 || o.Concurrency > maxConcurrency:
		return fmt.Errorf("--concurrency must be in 0..%d", maxConcurrency)
	case o.Timeout <= 0:
		return errors.New("--timeout must be positive")
	case (o.Email == "") != (o.Password == ""):
		return errors.New("--email and --password go together")
	case o.SessionActions < 1:
		return errors.New("--session-actions must be at least 1")
	case o.SessionTime < 0:
		return errors.New("--session-time must not be negative")
	case len(o.SourceAddrs) > o.Conns:
		return fmt.Errorf("--conns %d is fewer than the %d --source-addrs: each address needs a connection of its own; raise --conns or give fewer addresses",
			o.Conns, len(o.SourceAddrs))
	}
	for _, a := range o.SourceAddrs {
		if !isLoopbackSource(a) {
			return fmt.Errorf("--source-addrs: %s is not a loopback address (127.0.0.0/8 or ::1): load must only reach this machine", a)
		}
	}
	return nil
}

// workers is how many goroutines send requests: as many as may usefully be
// in flight, which the shared transport bounds to Conns per host anyway.
func (o *Options) workers() int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	return o.Conns
}
