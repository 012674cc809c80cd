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
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"time"
)

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
	// WriteEvery, when positive, is how often a writer changes one
	// product of the sample (the hot product) as the admin WriterEmail,
	// while shoppers read it (freshness.go); mix workload only.
	WriteEvery     time.Duration
	WriterEmail    string
	WriterPassword string
}

// RegisterFlags sets o to DefaultOptions and lets the flags of a load run
// change it.
func (o *Options) RegisterFlags(f *flag.FlagSet) {
	*o = DefaultOptions()
	f.StringVar(&o.Target, "target", o.Target, "base URL of the Vitrine to load")
	f.IntVar(&o.Users, "users", o.Users, "closed model: number of simulated users")
	f.DurationVar(&o.Think, "think", o.Think, "closed model: mean think time between a user's actions (exponentially distributed)")
	f.DurationVar(&o.Duration, "duration", o.Duration, "measured length of the run")
	f.DurationVar(&o.Warmup, "warmup", o.Warmup, "load sent before the measured window and left out of the report")
	f.Var(&o.Mix, "mix", "closed and open models: action `weights`, name=weight,... (browse, product, search, bestsellers); logins belong to sessions")
	f.IntVar(&o.SessionActions, "session-actions", o.SessionActions, "actions of a session (logins and refreshes aside); the next action starts a new session, which logs in again")
	f.DurationVar(&o.SessionTime, "session-time", o.SessionTime, "longest session; 0: sessions end by --session-actions only")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the search query distribution (which queries are popular, which misspelt)")
	f.Func("source-addrs", "loopback `addresses` to connect from, a CIDR block or comma list (e.g. 127.0.8.0/21); --conns is spread evenly over them and each user keeps one", func(s string) (err error) {
		o.SourceAddrs, err = parseSourceAddrs(s)
		return err
	})
	f.Float64Var(&o.Rate, "rate", o.Rate, "open model: requests per second on a fixed schedule (0: closed model)")
	f.Var((*listFlag)(&o.Paths), "path", "fixed URL paths or absolute URLs to send instead of the mix (repeatable or comma list)")
	f.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "workers sending requests: with --path, the number of back-to-back senders; in the open model, how many requests may be outstanding (0: --conns)")
	f.IntVar(&o.Conns, "conns", o.Conns, "keep-alive connections per host, all users sharing them (MaxConnsPerHost = MaxIdleConnsPerHost); with --source-addrs, spread over the addresses")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "deadline of each request")
	f.StringVar(&o.Email, "email", o.Email, "account every session logs in with; without it sessions are anonymous")
	f.StringVar(&o.Password, "password", o.Password, "its password (better given as VITRINE_BENCH_PASSWORD)")
	f.DurationVar(&o.WriteEvery, "write-every", o.WriteEvery, "mix workload: change one product of the sample this often (PATCH of its description, as --writer-email), while one product view in 10 reads it, and report how stale those reads were; 0: no writes")
	f.StringVar(&o.WriterEmail, "writer-email", o.WriterEmail, "an admin account the writer of --write-every logs in with")
	f.StringVar(&o.WriterPassword, "writer-password", o.WriterPassword, "its password (better given as VITRINE_BENCH_WRITER_PASSWORD)")
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

// Validate reports the first option out of range, naming its flag.
func (o *Options) Validate() error {
	if u, err := url.Parse(o.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--target %q: want an http:// or https:// base URL", o.Target)
	}
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
	case o.WriteEvery < 0:
		return errors.New("--write-every must not be negative")
	case o.WriteEvery > 0 && (o.WriterEmail == "" || o.WriterPassword == ""):
		return errors.New("--write-every needs --writer-email and --writer-password, an admin's")
	case o.WriteEvery > 0 && len(o.Paths) > 0:
		return errors.New("--write-every changes a product of the mix's sample: it does not go with --path")
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
