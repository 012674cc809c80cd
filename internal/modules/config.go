package modules

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
)

// Config is everything the modules need. Each part registers its own
// flags, with their defaults, and checks itself: cmd/vitrine only binds
// the flags (RegisterFlags) and reads them, and DefaultConfig is what the
// flags say when none is given.
type Config struct {
	Targets  Targets // the services to run
	Store    StoreConfig
	Replicas ReplicaConfig
	// Namespace prefixes stream names, subjects and Redis keys, so that
	// deployments (or test runs) can share one NATS and one Redis server.
	Namespace string
	Redis     RedisConfig
	Bus       BusConfig
	Tokens    TokensConfig
	Auth      AuthConfig
	Product   ProductConfig
	Search    SearchConfig
	Edge      EdgeConfig
	Server    ServerConfig
	// Breakers is the policy of the circuit breakers around every remote
	// call (Redis, the bus, the auth service).
	Breakers resilience.Policy

	Logger *slog.Logger // nil: slog.Default()
	// Tracer traces requests, events and the database and Redis calls
	// made for them; nil (tracing off) installs no instrumentation at all.
	Tracer trace.TracerProvider
}

// DefaultConfig is the configuration the flags give when none is set.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return c
}

// FlagGroup is a part of the configuration and the flags that set it;
// --help lists the flags group by group.
type FlagGroup struct {
	Title         string
	RegisterFlags func(*flag.FlagSet)
}

// FlagGroups lists the parts of c that flags set, in the order --help
// shows them.
func (c *Config) FlagGroups() []FlagGroup {
	return []FlagGroup{
		{"Services and storage", func(f *flag.FlagSet) {
			c.Targets = AllTargets()
			f.Var(&c.Targets, "target", "services to run: all, or a comma `list` of "+ServiceList())
			c.Store.RegisterFlags(f)
			c.Replicas.RegisterFlags(f)
		}},
		{"Event stream and shared cache", func(f *flag.FlagSet) {
			f.StringVar(&c.Namespace, "namespace", "", "prefix of stream names, subjects and Redis keys, so deployments can share a NATS and a Redis server")
			c.Bus.RegisterFlags(f)
			c.Redis.RegisterFlags(f)
		}},
		{"Access tokens", c.Tokens.RegisterFlags},
		{"Accounts", c.Auth.RegisterFlags},
		{"Catalog", c.Product.RegisterFlags},
		{"Search", c.Search.RegisterFlags},
		{"Edge cache", c.Edge.RegisterFlags},
		{"Requests: limits, load shedding, CORS", c.Server.RegisterFlags},
		{"Circuit breakers", c.Breakers.RegisterFlags},
	}
}

// RegisterFlags registers every flag of c on f, setting c to the flags'
// defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	for _, g := range c.FlagGroups() {
		g.RegisterFlags(f)
	}
}

// Validate reports the first setting that cannot work, naming its flag.
func (c *Config) Validate() error {
	if len(c.Targets) == 0 {
		return errors.New("--target: no target given")
	}
	if len(c.Replicas.URLs) > 0 && c.Store.PostgresURL == "" {
		return errors.New("--postgres-replica-url needs --postgres-url, the primary")
	}
	for _, check := range []func() error{c.Replicas.Validate, c.Bus.Validate, c.Tokens.Validate,
		c.Auth.Validate, c.Product.Validate, c.Search.Validate, c.Edge.Validate, c.Server.Validate, c.Breakers.Validate} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// SQLConfig returns where service keeps its data.
func (c Config) SQLConfig(service string) sqldb.Config {
	if c.Store.PostgresURL != "" {
		return sqldb.Config{PostgresURL: c.Store.PostgresURL, Schema: service, Tracer: c.Tracer}
	}
	return sqldb.Config{SQLitePath: filepath.Join(c.Store.DataDir, service+".db")}
}

// StoreConfig says where services keep their data: every command that
// opens a store has these flags.
type StoreConfig struct {
	DataDir     string // SQLite files, the embedded stream and search indexes live here
	PostgresURL string // when set, services keep their relational data there
}

// RegisterFlags registers --data-dir and --postgres-url.
func (c *StoreConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.DataDir, "data-dir", "./data", "directory for the embedded stores (SQLite files, event stream, search index)")
	f.StringVar(&c.PostgresURL, "postgres-url", "", "PostgreSQL URL; when set, services keep their data there instead of --data-dir")
}

// ReplicaConfig names the PostgreSQL read replicas of Store.PostgresURL:
// the product and analytics services send the reads that may lag there.
type ReplicaConfig struct {
	URLs   []string
	MaxLag time.Duration // a replica further behind leaves the read pool
}

// RegisterFlags registers --postgres-replica-url and --replica-max-lag.
func (c *ReplicaConfig) RegisterFlags(f *flag.FlagSet) {
	f.Var((*urlList)(&c.URLs), "postgres-replica-url", "`URL` of a PostgreSQL read replica of --postgres-url, for the product and analytics reads that may lag (repeatable; in the environment or its file, URLs separated by spaces or newlines)")
	f.DurationVar(&c.MaxLag, "replica-max-lag", sqldb.DefaultReplicaMaxLag, "a replica further behind the primary than this leaves the read pool until it catches up")
}

// Validate checks the lag bound.
func (c ReplicaConfig) Validate() error {
	if c.MaxLag <= 0 {
		return errors.New("--replica-max-lag must be positive")
	}
	return nil
}

// urlList is a repeatable URL flag. One value may hold several URLs
// separated by spaces or newlines, as the environment and a mounted file
// give them. Its text never shows the URLs: they may hold passwords.
type urlList []string

func (l *urlList) String() string {
	if l == nil || len(*l) == 0 {
		return ""
	}
	return fmt.Sprintf("%d URLs", len(*l))
}

func (l *urlList) Set(v string) error {
	urls := strings.Fields(v)
	if len(urls) == 0 {
		return errors.New("no URL")
	}
	*l = append(*l, urls...)
	return nil
}
