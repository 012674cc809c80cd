package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/platform/flagenv"
)

// benchEnvPrefix begins the environment variable of every bench flag
// (VITRINE_BENCH_TARGET for --target): the convention of the other
// commands with the command's name in it, as --target means another thing
// to vitrine serve.
const benchEnvPrefix = envPrefix + "BENCH_"

// benchCommand runs `vitrine bench`, the load generator. Its --help goes
// to stdout, after a usage of its own.
func benchCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cmd bench.Command
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned
	cmd.RegisterFlags(fs)
	err := flagenv.Parse(fs, args, getenv, benchEnvPrefix)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, bench.Usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	if err == nil {
		err = cmd.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "run 'vitrine bench --help' for usage")
		return fmt.Errorf("bench: %w", err)
	}
	return cmd.Run(ctx, stdout, stderr)
}
