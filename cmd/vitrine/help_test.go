package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/configuration.md from the commands' --help")

// helpPages are the commands docs/configuration.md shows the --help of.
var helpPages = [][]string{
	{"serve"}, {"migrate"}, {"user", "create"},
	{"credential", "create"}, {"credential", "list"}, {"credential", "revoke", "ID"},
	{"seed"}, {"import"}, {"export"}, {"healthcheck"}, {"bench"},
}

const configurationDoc = "../../docs/configuration.md"

// TestConfigurationDocIsTheHelp keeps docs/configuration.md equal to what
// the commands print for --help, which is where flags are documented.
// After changing a flag, run
//
//	go test ./cmd/vitrine -run TestConfigurationDocIsTheHelp -update
func TestConfigurationDocIsTheHelp(t *testing.T) {
	var doc bytes.Buffer
	doc.WriteString("# Commands and configuration\n\n" +
		"<!-- Made by TestConfigurationDocIsTheHelp (cmd/vitrine) from the commands' --help; do not edit:\n" +
		"     go test ./cmd/vitrine -run TestConfigurationDocIsTheHelp -update -->\n\n" +
		"What `vitrine help` and `vitrine <command> --help` print. Each flag may also come from the\n" +
		"environment (`VITRINE_<NAME>`; `VITRINE_BENCH_<NAME>` for bench), and each secret from a file.\n\n" +
		"## vitrine\n\n```\n" + usage + "```\n")
	for _, args := range helpPages {
		var out bytes.Buffer
		if err := run(context.Background(), append(args, "--help"), func(string) string { return "" }, &out, &out); err != nil {
			t.Fatalf("vitrine %s --help: %v", strings.Join(args, " "), err)
		}
		fmt.Fprintf(&doc, "\n## vitrine %s\n\n```\n%s```\n", strings.Join(args, " "), out.String())
	}
	if *updateDocs {
		if err := os.WriteFile(configurationDoc, doc.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(configurationDoc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, doc.Bytes()) {
		t.Errorf("docs/configuration.md differs from the commands' --help; run\n" +
			"\tgo test ./cmd/vitrine -run TestConfigurationDocIsTheHelp -update\nand commit it")
	}
}

// TestServeHelpListsEveryFlagOnce: vitrine serve --help shows each of its
// flags, -file forms included, in exactly one group.
func TestServeHelpListsEveryFlagOnce(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--help"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	registerGroups(fs, cfg.flagGroups())
	if err := parse(fs, nil, func(string) string { return "" }, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if n := strings.Count(out.String(), "\n  -"+f.Name+" ") + strings.Count(out.String(), "\n  -"+f.Name+"\n"); n != 1 {
			t.Errorf("--help lists -%s %d times", f.Name, n)
		}
	})
	if strings.Contains(out.String(), "Other flags:") {
		t.Errorf("--help lists flags of no group:\n%s", out.String())
	}
}

// TestBenchHelpPrintsUsage: vitrine bench --help, on stdout, shows its
// examples, flags and environment variables.
func TestBenchHelpPrintsUsage(t *testing.T) {
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"bench", "--help"}, func(string) string { return "" }, &stdout, io.Discard); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"usage: vitrine bench", "-rate", "-users", "-baseline-server", "VITRINE_BENCH_TARGET",
		"-source-addrs", "-session-actions", "-seed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}
