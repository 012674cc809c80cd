// Package modules decides what runs in a process, in the manner of Loki's
// module manager. A target names one service; "all" is an alias for every
// service. Each module declares what it needs (deps); New starts the
// modules the targets need, in the order of the map below, and mounts
// their routes on one router. It is the only place where services meet:
// each service's event adapter (productevents, searchevents,
// analyticsevents) says what it consumes, and modules connects them to
// the bus.
//
// Files: modules.go (the map and the App), config.go, platform.go (Redis, token
// checking, the bus), services.go (one function a service), server.go
// (health routes and the request chain).
package modules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Target names: the services.
const (
	All       = "all"
	Product   = "product"
	Auth      = "auth"
	Analytics = "analytics"
	Search    = "search"
)

// Modules the services need.
const (
	Redis  = "redis"  // the shared cache and rate limits, when --redis-url is set
	Tokens = "tokens" // access-token checking: the auth service's keys, in-process or remote
	Bus    = "bus"    // the event stream
	Server = "server" // health routes and the request chain, around every route
)

// deps says what each module needs. Tokens uses the auth module when it
// runs in the same process.
var deps = map[string][]string{
	Redis:     nil,
	Auth:      {Redis},
	Tokens:    nil,
	Bus:       nil,
	Product:   {Redis, Tokens, Bus},
	Search:    {Bus},
	Analytics: {Tokens, Bus},
	Server:    {Redis, Tokens},
}

// order is the order modules start in; each comes after what it needs.
var order = []string{Redis, Auth, Tokens, Bus, Product, Search, Analytics, Server}

// services lists every service in start order; "all" expands to it.
var services = []string{Auth, Product, Search, Analytics}

// ParseTargets expands and checks a comma list of targets.
func ParseTargets(list string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == All:
			return slices.Clone(services), nil
		case slices.Contains(services, t):
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		default:
			return nil, fmt.Errorf("unknown target %q (want %s or a comma list of %s)", t, All, strings.Join(services, ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no target given")
	}
	return out, nil
}

// Targets are the services a process runs. As a flag (--target) it reads
// "all" or a comma list of services (ParseTargets).
type Targets []string

// AllTargets is every service: the target "all".
func AllTargets() Targets { return slices.Clone(services) }

// Set implements flag.Value.
func (t *Targets) Set(list string) error {
	parsed, err := ParseTargets(list)
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// String implements flag.Value: "all" for every service.
func (t Targets) String() string {
	if len(t) > 0 && slices.Equal(t, services) {
		return All
	}
	return strings.Join(t, ",")
}

// ServiceList names the services a target list may hold.
func ServiceList() string { return strings.Join(services, ", ") }

// needed returns the modules targets need, in start order.
func needed(targets []string) []string {
	want := map[string]bool{Server: true}
	var add func(m string)
	add = func(m string) {
		want[m] = true
		for _, d := range deps[m] {
			add(d)
		}
	}
	for _, t := range append(targets, Server) {
		add(t)
	}
	return slices.DeleteFunc(slices.Clone(order), func(m string) bool { return !want[m] })
}
