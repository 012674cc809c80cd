// Package flagenv is how every vitrine command reads its configuration:
// flags, each of which may also come from the environment as
// PREFIX + its name in upper case with '-' as '_' (VITRINE_DATA_DIR for
// --data-dir). A flag on the command line wins over the environment.
package flagenv

import (
	"fmt"
	"strings"

	"flag"
)

// Name returns the environment variable of a flag.
func Name(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse fills fs from the environment, then from args, and refuses
// arguments that are not flags. flag.ErrHelp is returned as it is.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string, prefix string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := Name(prefix, f.Name)
		if v := getenv(name); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
