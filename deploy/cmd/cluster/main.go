// Command cluster runs a whole Vitrine cluster on this machine (package
// deploy/localcluster); the "make cluster-*" targets call it.
//
// Its configuration is the environment: CLUSTER_DIR (./.cluster),
// CLUSTER_PORT and the other CLUSTER_*_PORT variables, CLUSTER_INSTANCES,
// CLUSTER_ADMIN_EMAIL and CLUSTER_ADMIN_PASSWORD, CLUSTER_JAEGER=0… (see
// docs/operations.md).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/vitrine-dev/vitrine/deploy/localcluster"
)

const usage = `usage: cluster COMMAND

  up                          start the cluster (what is missing of it)
  down                        stop it; the data stays
  status [--json]             every process, its zone, pid and health; each part's leader; the URLs
  scale SERVICE N             add or remove instances while serving (drained first)
  failover                    a planned switchover of PostgreSQL's leader, through Patroni
  start|stop|kill|restart NAME   one process (product-1, redis-b, s3, nats-c, pg-a, etcd-b, entry...)
  zone freeze|thaw|kill|start Z  every process of zone Z (a, b or c): SIGSTOP, SIGCONT, SIGKILL, start
  seed N                      N demo products (1000 when N is not given)
  env                         the URLs, as shell assignments
  clean                       down, then remove CLUSTER_DIR
  build-jaeger                build Jaeger now (up does it once, when missing)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("unknown command or arguments")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := localcluster.FindRoot(wd)
	if err != nil {
		return err
	}
	cfg, err := localcluster.LoadConfig(root, getenv)
	if err != nil {
		return err
	}
	c, err := localcluster.Open(cfg, stderr)
	if err != nil {
		return err
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "up":
		if err := c.Up(ctx); err != nil {
			return err
		}
		c.Status(ctx).WriteText(stdout, c.Layout)
		return nil
	case "down":
		return c.Down(ctx)
	case "status":
		return status(ctx, c, rest, stdout)
	case "scale":
		if len(rest) != 2 {
			return errUsage
		}
		n, err := strconv.Atoi(rest[1])
		if err != nil {
			return fmt.Errorf("scale %s: %q is not a number of instances", rest[0], rest[1])
		}
		return c.Scale(ctx, rest[0], n)
	case "failover":
		return c.Switchover(ctx)
	case "zone":
		return zone(ctx, c, rest)
	case "start", "stop", "kill", "restart":
		if len(rest) != 1 {
			return errUsage
		}
		return c.Proc(ctx, localcluster.Action(cmd), rest[0])
	case "seed":
		return seed(ctx, c, rest, stdout, stderr)
	case "env":
		for _, kv := range c.Env() {
			fmt.Fprintf(stdout, "%s=%s\n", kv[0], shellQuote(kv[1]))
		}
		return nil
	case "clean":
		return c.Clean(ctx)
	case "build-jaeger":
		bin, err := c.BuildJaeger(ctx)
		if err == nil {
			fmt.Fprintln(stdout, bin)
		}
		return err
	}
	return errUsage
}

func status(ctx context.Context, c *localcluster.Cluster, args []string, stdout io.Writer) error {
	st := c.Status(ctx)
	switch {
	case len(args) == 0:
		st.WriteText(stdout, c.Layout)
		return nil
	case len(args) == 1 && args[0] == "--json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return errUsage
}

func zone(ctx context.Context, c *localcluster.Cluster, args []string) error {
	if len(args) != 2 {
		return errUsage
	}
	z := args[1]
	switch args[0] {
	case "freeze":
		return c.FreezeZone(z)
	case "thaw":
		return c.ThawZone(z)
	case "kill":
		return c.KillZone(z)
	case "start":
		return c.StartZone(ctx, z)
	}
	return errUsage
}

func seed(ctx context.Context, c *localcluster.Cluster, args []string, stdout, stderr io.Writer) error {
	n := 1000
	switch len(args) {
	case 0:
	case 1:
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n < 0 {
			return fmt.Errorf("seed N: %q is not a number of products", args[0])
		}
	default:
		return errUsage
	}
	return c.Seed(ctx, n, stdout, stderr)
}

// shellQuote quotes a value for a shell when it needs it (a URL with & or
// ?), as "eval $(cluster env)" reads it.
func shellQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\"\\$`&;|<>()*?[]{}!#~") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
