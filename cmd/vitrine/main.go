// Command vitrine runs the Vitrine catalog platform: all services in one
// process, or any subset of them (--target), plus the tools that go with it
// (migrate, user, credential, seed, import, export, bench, healthcheck).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/flagenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vitrine:", err)
		os.Exit(1)
	}
}

// usage is what "vitrine help" prints.
var usage = `Usage: vitrine <command> [flags]

Commands:
  serve     run the services (--target=all by default)
  migrate   apply database migrations
  user      manage users (user create --email E --password P --role admin)
  credential  manage service credentials (credential create --name checkout
            --scope analytics:purchases; credential list; credential revoke ID)
  seed      fill a demo catalog (seed --products N)
  import    create or update products from a catalog file (import FILE,
            NDJSON or CSV; see docs/import-export.md)
  export    write the whole catalog as NDJSON or CSV (export --output FILE)
  bench     generate load against a running Vitrine
  healthcheck  exit 0 if a running vitrine answers 200 (healthcheck --url
            http://127.0.0.1:8080/healthz), as a container's health check

Run "vitrine <command> --help" for its flags. Every flag can also be set
with an environment variable: --postgres-url is VITRINE_POSTGRES_URL.
Secret flags can also be read from a file (--postgres-url-file PATH, or
VITRINE_POSTGRES_URL_FILE); they are
  --` + strings.Join(flagenv.Secrets, ", --") + `
`

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	err := dispatch(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return withFields(err)
}

// withFields spells out the fields of a validation error, which a command
// line user, unlike an API client, would not see otherwise.
func withFields(err error) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(err.Error())
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Detail)
	}
	return errors.New(b.String())
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "user":
		return user(ctx, rest, getenv, stdout, stderr)
	case "credential":
		return credential(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return seed(ctx, rest, getenv, stdout, stderr)
	case "import":
		return importCatalog(ctx, rest, getenv, stdout, stderr)
	case "export":
		return exportCatalog(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return benchCommand(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
