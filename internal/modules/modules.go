// Package modules decides what runs in a process, in the manner of Loki's
// module manager. A target names one service; "all" is an alias for every
// service. Each module is one entry of a table (table, below): what it
// needs, how it starts, how it migrates its store. New starts the modules
// the targets need, in an order computed from what each needs
// (startOrder), and mounts their routes on one router. It is the only
// place where services meet: each service's event adapter
// (productevents, searchevents, analyticsevents) says what it consumes,
// and modules connects them to the bus.
//
// Files: modules.go (the names and the table), order.go (the start
// order), app.go (the App), config.go (the configuration and its flags);
// then a file a module, holding its part of the configuration and its
// start function: redis.go, bus.go, tokens.go, auth.go, product.go (with
// streamguard.go), search.go, analytics.go, server.go (the request chain,
// with health.go and reads.go).
package modules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/analytics/analyticsdb"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
)

// Target names: the services.
const (
	All       = "all"
	Product   = "product"
	Auth      = "auth"
	Analytics = "analytics"
	Search    = "search"
)

// Modules the services need.
const (
	Redis  = "redis"  // the shared cache and rate limits, when --redis-url is set
	Tokens = "tokens" // access-token checking: the auth service's keys, in-process or remote
	Bus    = "bus"    // the event stream
	Server = "server" // health routes and the request chain, around every route
)

// module is one part of a process.
type module struct {
	name string
	// service modules are the targets --target names; the others run
	// because a service needs them, or (always) in every process.
	service bool
	always  bool
	// needs are the modules this one cannot run without: they start
	// first, and start because this one does.
	needs []string
	// after are the modules that start first when they run at all: this
	// one uses them if they are there, and runs without them.
	after []string
	start func(*App, context.Context) error
	// migrate applies the migrations of the module's store; nil when it
	// keeps no relational data.
	migrate func(context.Context, sqldb.Config) error
}

// table is every module. The start order comes from needs and after; the
// order of the entries only lists the services (in "all", ServiceList)
// and breaks ties between modules that do not depend on each other.
var table = []module{
	{name: Redis, start: (*App).startRedis},
	{name: Bus, start: (*App).startBus},
	{name: Auth, service: true, needs: []string{Redis}, start: (*App).startAuth,
		migrate: migrateWith(authdb.Open)},
	// Tokens checks tokens with the auth service's keys when auth runs in
	// the process, else with those its --auth-url publishes.
	{name: Tokens, after: []string{Auth}, start: (*App).startTokens},
	{name: Product, service: true, needs: []string{Redis, Tokens, Bus}, start: (*App).startProduct,
		migrate: migrateWith(productdb.Open)},
	{name: Search, service: true, needs: []string{Bus}, start: (*App).startSearch},
	{name: Analytics, service: true, needs: []string{Tokens, Bus}, start: (*App).startAnalytics,
		migrate: migrateWith(analyticsdb.Open)},
	// Server puts the request chain around the router once every service
	// has mounted its routes on it.
	{name: Server, always: true, needs: []string{Redis, Tokens}, after: []string{Auth, Product, Search, Analytics},
		start: (*App).startServer},
}

// services lists every service, in the table's order; "all" expands to it.
var services = func() []string {
	var out []string
	for _, m := range table {
		if m.service {
			out = append(out, m.name)
		}
	}
	return out
}()

// migrateWith is a module's migrate function: opening its store applies
// the migrations.
func migrateWith[S io.Closer](open func(context.Context, sqldb.Config) (S, error)) func(context.Context, sqldb.Config) error {
	return func(ctx context.Context, c sqldb.Config) error {
		store, err := open(ctx, c)
		if err != nil {
			return err
		}
		return store.Close()
	}
}

// ParseTargets expands and checks a comma list of targets.
func ParseTargets(list string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == All:
			return slices.Clone(services), nil
		case slices.Contains(services, t):
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		default:
			return nil, fmt.Errorf("unknown target %q (want %s or a comma list of %s)", t, All, strings.Join(services, ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no target given")
	}
	return out, nil
}

// ServiceList names the services a target list may hold.
func ServiceList() string { return strings.Join(services, ", ") }

// Targets are the services a process runs. As a flag (--target) it reads
// "all" or a comma list of services (ParseTargets).
type Targets []string

// AllTargets is every service: the target "all".
func AllTargets() Targets { return slices.Clone(services) }

// Set implements flag.Value.
func (t *Targets) Set(list string) error {
	parsed, err := ParseTargets(list)
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// String implements flag.Value: "all" for every service.
func (t Targets) String() string {
	if len(t) > 0 && slices.Equal(t, services) {
		return All
	}
	return strings.Join(t, ",")
}
