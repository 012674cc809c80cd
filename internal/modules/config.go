package modules

import (
	"log/slog"
	"net/netip"
	"net/url"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/ratelimit"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
)

// Config is everything the services need, read from flags and environment
// by cmd/vitrine.
type Config struct {
	Targets     []string
	DataDir     string // SQLite files live here when PostgresURL is empty
	PostgresURL string
	// PostgresReplicaURLs are read replicas of PostgresURL: the product
	// and analytics services send the reads that may lag there.
	PostgresReplicaURLs []string
	ReplicaMaxLag       time.Duration // 0 means sqldb.DefaultReplicaMaxLag
	AuthURL             string        // base URL of the auth service, for the JWKS and credential checks when auth runs elsewhere
	NATSURL             string        // external NATS JetStream; empty embeds a server under DataDir
	Namespace           string        // isolates deployments sharing one NATS and one Redis server
	RedisURL            string        // L2 cache (and shared rate limits); empty keeps the cache in-process
	Issuer              string
	Audience            string
	AccessTTL           time.Duration
	MaxInFlight         int // load shedding threshold
	// MaxInFlightPerClient bounds the requests one client address has in
	// flight at once; 0 disables it.
	MaxInFlightPerClient int
	// BodyTimeout is the time a request body has to arrive, read before
	// the request takes one of MaxInFlight's slots; 0 leaves only the
	// server's read timeout.
	BodyTimeout time.Duration
	CORSOrigins []string // origins whose browser scripts may call the API; none: no CORS
	// TrustedProxies are the load balancers whose X-Forwarded-For and
	// X-Vitrine-Recent-Writer are believed.
	TrustedProxies []netip.Prefix
	RateLimits     ratelimit.Config
	// LoginThrottle slows down failed logins per account; the zero value
	// takes ratelimit.DefaultThrottlePolicy.
	LoginThrottle ratelimit.ThrottlePolicy
	Synonyms      string // synonyms file of the search service
	Logger        *slog.Logger

	// CursorSecret signs listing cursors; empty uses the one kept in the
	// product store. It is a secret: never log it.
	CursorSecret string

	// BlobURL is where the product service keeps pictures (file:// or
	// s3://); empty means DataDir/blobs.
	BlobURL string

	// StreamReplicas is how many servers of a NATS cluster keep each
	// stream; 0 means 1.
	StreamReplicas int
	// CatalogStaleAfter bounds how long a product instance that lost the
	// catalog stream serves from its cache; 0 means DefaultCatalogStaleAfter.
	CatalogStaleAfter time.Duration

	// Tracer traces requests, events and the database and Redis calls
	// made for them; nil (tracing off) installs no instrumentation at all.
	Tracer trace.TracerProvider

	// Breakers is the policy of the circuit breakers around every remote
	// call (Redis, the bus, the auth service); the zero value takes
	// resilience.DefaultPolicy.
	Breakers resilience.Policy
}

// BlobStoreURL returns where the product service keeps pictures.
func (c Config) BlobStoreURL() (string, error) {
	if c.BlobURL != "" {
		return c.BlobURL, nil
	}
	dir, err := filepath.Abs(filepath.Join(c.DataDir, "blobs"))
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String(), nil
}

// SQLConfig returns where service keeps its data.
func (c Config) SQLConfig(service string) sqldb.Config {
	if c.PostgresURL != "" {
		return sqldb.Config{PostgresURL: c.PostgresURL, Schema: service, Tracer: c.Tracer}
	}
	return sqldb.Config{SQLitePath: filepath.Join(c.DataDir, service+".db")}
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Issuer == "" {
		c.Issuer = authn.DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = authn.DefaultAudience
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = authn.DefaultAccessTTL
	}
	if c.Breakers == (resilience.Policy{}) {
		c.Breakers = resilience.DefaultPolicy()
	}
}
