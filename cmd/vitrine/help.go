package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/platform/flagenv"
)

// envHelp says, in every command's --help, how else flags are set.
const envHelp = `Every flag may also be set in the environment, as VITRINE_ and its name in
capitals with _ for - (VITRINE_DATA_DIR for --data-dir); a flag on the
command line wins. A secret flag (one listed with a -file form) may instead
be read from a file, as Kubernetes and Docker mount secrets: --postgres-url-file
PATH or VITRINE_POSTGRES_URL_FILE (one trailing newline is dropped; giving a
secret and its file together is refused).
`

// helpGroup is a titled part of a command's flags, as --help lists them.
type helpGroup struct {
	title string
	names []string
}

// registerGroups registers the flags of each group on fs, and returns the
// groups with the names of their flags for --help.
func registerGroups(fs *flag.FlagSet, groups []modules.FlagGroup) []helpGroup {
	var out []helpGroup
	for _, g := range groups {
		before := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
		g.RegisterFlags(fs)
		hg := helpGroup{title: g.Title}
		fs.VisitAll(func(f *flag.Flag) {
			if !before[f.Name] {
				hg.names = append(hg.names, f.Name)
			}
		})
		out = append(out, hg)
	}
	return out
}

// printHelp writes a command's --help: its usage line, how the environment
// and files set flags, then its flags group by group, and those of no
// group last.
func printHelp(w io.Writer, fs *flag.FlagSet, groups []helpGroup) {
	fmt.Fprintf(w, "Usage: vitrine %s [flags]\n\n%s", fs.Name(), envHelp)
	listed := map[string]bool{}
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		printFlags(w, fs, g.names, listed)
	}
	var rest []string
	fs.VisitAll(func(f *flag.Flag) {
		if !listed[f.Name] {
			rest = append(rest, f.Name)
		}
	})
	if len(rest) == 0 {
		return
	}
	title := "Flags"
	if len(groups) > 0 {
		title = "Other flags"
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	printFlags(w, fs, rest, listed)
}

// printFlags prints the named flags of fs, each secret's -file form after
// it, as flag.PrintDefaults does, and marks them listed.
func printFlags(w io.Writer, fs *flag.FlagSet, names []string, listed map[string]bool) {
	part := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	part.SetOutput(w)
	for _, name := range names {
		for _, n := range []string{name, name + flagenv.FileSuffix} {
			f := fs.Lookup(n)
			if f == nil || listed[n] {
				continue
			}
			listed[n] = true
			part.Var(f.Value, f.Name, f.Usage)
			part.Lookup(n).DefValue = f.DefValue
		}
	}
	part.PrintDefaults()
}
