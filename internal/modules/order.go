package modules

import (
	"fmt"
	"slices"
	"strings"
)

// startOrder returns the modules of tbl that run for targets (the targets,
// the modules that always run, and what they need, transitively), in an
// order where each comes after the modules it needs and the running
// modules it comes after. Among modules free to start, the one listed
// first in tbl starts first. A name that is no module of tbl, or a cycle,
// is an error.
func startOrder(tbl []module, targets []string) ([]*module, error) {
	byName := map[string]*module{}
	for i := range tbl {
		byName[tbl[i].name] = &tbl[i]
	}
	for _, m := range tbl {
		for _, d := range slices.Concat(m.needs, m.after) {
			if byName[d] == nil {
				return nil, fmt.Errorf("modules: %s depends on %q, which is no module", m.name, d)
			}
		}
	}
	running := map[string]bool{}
	var run func(name string)
	run = func(name string) {
		if !running[name] {
			running[name] = true
			for _, d := range byName[name].needs {
				run(d)
			}
		}
	}
	for _, m := range tbl {
		if m.always {
			run(m.name)
		}
	}
	for _, t := range targets {
		if byName[t] == nil {
			return nil, fmt.Errorf("modules: unknown target %q", t)
		}
		run(t)
	}
	return sortByDependencies(tbl, running)
}

// sortByDependencies orders the running modules of tbl, each after those
// it needs or comes after (that run), the earlier in tbl first among
// those free to start.
func sortByDependencies(tbl []module, running map[string]bool) ([]*module, error) {
	started := map[string]bool{}
	ready := func(m *module) bool {
		for _, d := range slices.Concat(m.needs, m.after) {
			if running[d] && !started[d] {
				return false
			}
		}
		return true
	}
	var order []*module
	for len(order) < len(running) {
		i := slices.IndexFunc(tbl, func(m module) bool { return running[m.name] && !started[m.name] && ready(&m) })
		if i < 0 {
			var stuck []string
			for _, m := range tbl {
				if running[m.name] && !started[m.name] {
					stuck = append(stuck, m.name)
				}
			}
			return nil, fmt.Errorf("modules: a dependency cycle among %s", strings.Join(stuck, ", "))
		}
		order = append(order, &tbl[i])
		started[tbl[i].name] = true
	}
	return order, nil
}
