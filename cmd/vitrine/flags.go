package main

import (
	"errors"
	"flag"
	"io"

	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/platform/flagenv"
)

// storeFlags are the flags of every command that opens a store: where
// data lives, and the log level.
type storeFlags struct {
	store    modules.StoreConfig
	logLevel string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	f.store.RegisterFlags(fs)
	registerLogLevel(fs, &f.logLevel)
}

// config is the modules' configuration for targets, with only the stores
// set: what migrations and the store commands need.
func (f *storeFlags) config(targets []string) modules.Config {
	return modules.Config{Targets: targets, Store: f.store}
}

func registerLogLevel(fs *flag.FlagSet, level *string) {
	fs.StringVar(level, "log-level", "info", "log level: debug, info, warn or error")
}

// envPrefix begins the environment variable of every flag.
const envPrefix = "VITRINE_"

// parse fills fs from args, then from the environment (VITRINE_<FLAG_NAME>)
// for the flags not on the command line. --help lists the flags.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) error {
	return parseWithHelp(fs, nil, args, getenv, stderr)
}

// parseWithHelp is parse for a command whose --help lists its flags in
// groups (registerGroups).
func parseWithHelp(fs *flag.FlagSet, groups []helpGroup, args []string, getenv func(string) string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	fs.Usage = func() { printHelp(fs.Output(), fs, groups) }
	err := flagenv.Parse(fs, args, getenv, envPrefix)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return err
}

// errHelp ends a command that printed its help.
var errHelp = errors.New("help requested")
