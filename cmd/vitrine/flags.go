package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/platform/flagenv"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// storeFlags are the flags that say where data lives, shared by every
// command that opens a store.
type storeFlags struct {
	dataDir     string
	postgresURL string
	logLevel    string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "./data", "directory for the embedded stores (SQLite files, event stream, search index)")
	fs.StringVar(&f.postgresURL, "postgres-url", "", "PostgreSQL URL; when set, services keep their data there instead of --data-dir")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

func (f *storeFlags) config(targets []string) modules.Config {
	return modules.Config{Targets: targets, DataDir: f.dataDir, PostgresURL: f.postgresURL}
}

// registerBreakerFlags sets p to the default policy of the circuit breakers
// and lets --breaker-* flags change it.
func registerBreakerFlags(fs *flag.FlagSet, p *resilience.Policy) {
	*p = resilience.DefaultPolicy()
	fs.DurationVar(&p.Timeout, "breaker-timeout", p.Timeout, "deadline of one call to Redis, the event stream or the auth service (Redis on a request's path keeps its shorter 50ms)")
	fs.Float64Var(&p.FailureRatio, "breaker-failure-ratio", p.FailureRatio, "share of failed calls (0 to 1) at which a circuit breaker opens and stops calling")
	fs.IntVar(&p.MinRequests, "breaker-min-requests", p.MinRequests, "calls a breaker must count, in its --breaker-window, before their failures can open it")
	fs.DurationVar(&p.Window, "breaker-window", p.Window, "span of the latest calls a breaker judges (rolling, in tenths)")
	fs.DurationVar(&p.OpenFor, "breaker-open-for", p.OpenFor, "how long an open breaker refuses calls before it lets one through to try again (half-open)")
}

// parse fills fs from the environment (VITRINE_<FLAG_NAME>), then from args,
// so a flag on the command line wins over the environment.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	err := flagenv.Parse(fs, args, getenv, "VITRINE_")
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return err
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

// errHelp ends a command that printed its help.
var errHelp = errors.New("help requested")
