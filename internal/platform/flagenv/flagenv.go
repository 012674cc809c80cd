// Package flagenv is how every vitrine command reads its configuration:
// flags, each of which may also come from the environment as
// PREFIX + its name in upper case with '-' as '_' (VITRINE_DATA_DIR for
// --data-dir). A flag on the command line wins over the environment.
//
// Secret flags (Secrets) may also be read from a file, as Kubernetes and
// Docker mount secrets: --postgres-url-file PATH, or VITRINE_POSTGRES_URL_FILE.
// The file's content, less one trailing newline, is the value. Giving a
// secret and its file at the same level (both on the command line, or both
// in the environment) is an error; the command line wins over the
// environment as for any flag. Errors name flags, variables and paths,
// never a secret's value.
package flagenv

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Secrets are the names of the flags that carry secrets, wherever a command
// defines them. Each gets a NAME-file flag (and its PREFIX_NAME_FILE
// variable), and its value is never printed in an error.
var Secrets = []string{"postgres-url", "postgres-replica-url", "redis-url", "nats-url", "cursor-secret", "password"}

// FileSuffix names the file form of a secret flag.
const FileSuffix = "-file"

// Name returns the environment variable of a flag.
func Name(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse fills fs from args, then from the environment for the flags not
// given on the command line, then reads the files of secret flags. It
// refuses arguments that are not flags. flag.ErrHelp is returned as it is.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string, prefix string) error {
	var secrets []string
	for _, name := range Secrets {
		f := fs.Lookup(name)
		if f == nil || fs.Lookup(name+FileSuffix) != nil {
			continue
		}
		secrets = append(secrets, name)
		fs.String(name+FileSuffix, "", "file holding --"+name+" (its content less one trailing newline), as secrets are mounted")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })

	// fileFrom[secret] says where its file path came from, for messages.
	fileFrom := map[string]string{}
	for _, name := range secrets {
		file := name + FileSuffix
		switch {
		case onCommandLine[name] && onCommandLine[file]:
			return fmt.Errorf("--%s and --%s are both given; give one", name, file)
		case onCommandLine[file]:
			fileFrom[name] = "--" + file
		case onCommandLine[name]:
		default:
			v, fv := Name(prefix, name), Name(prefix, file)
			if getenv(v) != "" && getenv(fv) != "" {
				return fmt.Errorf("%s and %s are both set; set one", v, fv)
			}
			if getenv(fv) != "" {
				fileFrom[name] = fv
			}
		}
	}

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || onCommandLine[f.Name] {
			return
		}
		// A secret given on the command line, in either form, leaves both
		// of its environment forms unread.
		if base, ok := strings.CutSuffix(f.Name, FileSuffix); ok && slices.Contains(secrets, base) && onCommandLine[base] {
			return
		}
		if slices.Contains(secrets, f.Name) && onCommandLine[f.Name+FileSuffix] {
			return
		}
		name := Name(prefix, f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			if slices.Contains(secrets, f.Name) {
				envErr = fmt.Errorf("%s: %w", name, err)
			} else {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}

	for _, name := range secrets {
		from, ok := fileFrom[name]
		if !ok {
			continue
		}
		path := fs.Lookup(name + FileSuffix).Value.String()
		b, err := os.ReadFile(path)
		if err != nil {
			// *PathError names the path and the reason, never the content.
			return fmt.Errorf("%s: %w", from, err)
		}
		v, trimmed := strings.CutSuffix(string(b), "\n")
		if trimmed {
			v = strings.TrimSuffix(v, "\r")
		}
		if v == "" {
			return fmt.Errorf("%s: %s is empty", from, path)
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%s: the value in %s is not valid for --%s", from, path, name)
		}
	}
	return nil
}
