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
var Secrets = []string{"postgres-url", "postgres-replica-url", "redis-url", "nats-url", "cursor-secret", "password", "writer-password"}

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
	p := parsing{fs: fs, getenv: getenv, prefix: prefix, secrets: addFileFlags(fs)}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	p.onCommandLine = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { p.onCommandLine[f.Name] = true })
	fileFrom, err := p.secretFileSources()
	if err != nil {
		return err
	}
	if err := p.setFromEnvironment(); err != nil {
		return err
	}
	for _, name := range p.secrets {
		if from, ok := fileFrom[name]; ok {
			if err := p.readSecretFile(name, from); err != nil {
				return err
			}
		}
	}
	return nil
}

// parsing is the state of one Parse once the command line is read.
type parsing struct {
	fs            *flag.FlagSet
	getenv        func(string) string
	prefix        string
	secrets       []string // the secret flags of fs, each with its file flag
	onCommandLine map[string]bool
}

// addFileFlags defines the file flag of each secret flag fs has (unless
// the command defines it itself) and returns those secrets.
func addFileFlags(fs *flag.FlagSet) []string {
	var secrets []string
	for _, name := range Secrets {
		f := fs.Lookup(name)
		if f == nil || fs.Lookup(name+FileSuffix) != nil {
			continue
		}
		secrets = append(secrets, name)
		fs.String(name+FileSuffix, "", "file holding --"+name+" (its content less one trailing newline), as secrets are mounted")
	}
	return secrets
}

// secretFileSources returns, for each secret to be read from a file, where
// the file's path came from (a flag or a variable), for messages. A secret
// and its file given at the same level is an error.
func (p *parsing) secretFileSources() (map[string]string, error) {
	fileFrom := map[string]string{}
	for _, name := range p.secrets {
		file := name + FileSuffix
		switch {
		case p.onCommandLine[name] && p.onCommandLine[file]:
			return nil, fmt.Errorf("--%s and --%s are both given; give one", name, file)
		case p.onCommandLine[file]:
			fileFrom[name] = "--" + file
		case p.onCommandLine[name]:
		default:
			v, fv := Name(p.prefix, name), Name(p.prefix, file)
			if p.getenv(v) != "" && p.getenv(fv) != "" {
				return nil, fmt.Errorf("%s and %s are both set; set one", v, fv)
			}
			if p.getenv(fv) != "" {
				fileFrom[name] = fv
			}
		}
	}
	return fileFrom, nil
}

// setFromEnvironment sets the flags not given on the command line from
// their variables. An invalid value is named in the error, unless it is a
// secret's.
func (p *parsing) setFromEnvironment() error {
	var envErr error
	p.fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || !p.readsEnvironment(f.Name) {
			return
		}
		name := Name(p.prefix, f.Name)
		v := p.getenv(name)
		if v == "" {
			return
		}
		if err := p.fs.Set(f.Name, v); err != nil {
			if slices.Contains(p.secrets, f.Name) {
				envErr = fmt.Errorf("%s: %w", name, err)
			} else {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	return envErr
}

// readsEnvironment says whether flag name may be set from its variable:
// not when it is on the command line, and a secret given on the command
// line, in either form, leaves both of its environment forms unread.
func (p *parsing) readsEnvironment(name string) bool {
	if p.onCommandLine[name] {
		return false
	}
	if base, ok := strings.CutSuffix(name, FileSuffix); ok && slices.Contains(p.secrets, base) && p.onCommandLine[base] {
		return false
	}
	return !slices.Contains(p.secrets, name) || !p.onCommandLine[name+FileSuffix]
}

// readSecretFile sets secret name from the file its file flag names; from
// says where that path came from.
func (p *parsing) readSecretFile(name, from string) error {
	path := p.fs.Lookup(name + FileSuffix).Value.String()
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
	if err := p.fs.Set(name, v); err != nil {
		return fmt.Errorf("%s: the value in %s is not valid for --%s", from, path, name)
	}
	return nil
}
