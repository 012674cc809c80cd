package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
)

// Command is what `vitrine bench` is asked to do: a load run (Options), or
// the baseline server. cmd/vitrine binds its flags and environment
// (RegisterFlags), checks it (Validate) and runs it.
type Command struct {
	Options
	JSON bool // print the report as one JSON object
	// BaselineServer serves a bare copy of the FetchFrom responses, on
	// Addr, instead of running a load.
	BaselineServer  bool
	Addr            string
	FetchFrom       []string
	BaselineHeaders string // BaselineBodyHeaders or BaselineAllHeaders
}

// RegisterFlags registers every flag of the command, setting c to their
// defaults.
func (c *Command) RegisterFlags(f *flag.FlagSet) {
	c.Options.RegisterFlags(f)
	f.BoolVar(&c.JSON, "json", false, "print the report as one JSON object")
	f.BoolVar(&c.BaselineServer, "baseline-server", false, "serve a bare copy of the --fetch-from responses instead of running a load")
	f.StringVar(&c.Addr, "addr", "127.0.0.1:9090", "baseline server: listen address")
	f.Var((*listFlag)(&c.FetchFrom), "fetch-from", "baseline server: URLs to fetch once at start and serve at the same paths (repeatable or comma list)")
	f.StringVar(&c.BaselineHeaders, "baseline-headers", BaselineBodyHeaders, "baseline server: the header fields sent with each body: body (those that describe it) or all (every field Vitrine sent)")
}

// Validate reports the first flag that cannot work.
func (c *Command) Validate() error {
	if c.BaselineServer {
		if len(c.FetchFrom) == 0 {
			return errors.New("--baseline-server needs --fetch-from with one or more URLs")
		}
		if err := checkBaselineHeaders(c.BaselineHeaders); err != nil {
			return fmt.Errorf("--baseline-headers %w", err)
		}
		return nil
	}
	return c.Options.Validate()
}

// Run runs the command. It prints progress to stderr and the report to
// stdout, and returns when the run has ended: after --duration, or earlier
// when ctx is cancelled (the report is still printed then).
func (c *Command) Run(ctx context.Context, stdout, stderr io.Writer) error {
	if c.BaselineServer {
		ln, err := net.Listen("tcp", c.Addr)
		if err != nil {
			return fmt.Errorf("bench: baseline server: %w", err)
		}
		return BaselineServer(ctx, ln, c.FetchFrom, c.BaselineHeaders, stderr)
	}
	report, err := Run(ctx, c.Options, stderr)
	if err != nil {
		return err
	}
	if c.JSON {
		return report.WriteJSON(stdout)
	}
	return report.WriteText(stdout)
}

// Usage begins the command's --help, before its flags.
const Usage = `usage: vitrine bench [flags]

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
  vitrine bench --users 2000 --think 200ms --write-every 1s \
      --writer-email admin@example.com --writer-password-file admin.pass
      the same shoppers while an admin changes one product every second,
      which one product view in ten reads: how stale those reads were
      (through every cache: the edge's, the instances')
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
