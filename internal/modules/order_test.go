package modules

import (
	"slices"
	"strings"
	"testing"
)

// TestModuleTable: every module the table names exists, the table has no
// cycle, and for every target (and all of them) each module starts after
// the modules it needs and the running ones it comes after.
func TestModuleTable(t *testing.T) {
	for _, targets := range append([][]string{services}, splitEach(services)...) {
		order, err := startOrder(table, targets)
		if err != nil {
			t.Fatalf("%v: %v", targets, err)
		}
		names := namesOf(order)
		for i, m := range order {
			for _, d := range m.needs {
				if j := slices.Index(names, d); j < 0 || j > i {
					t.Errorf("%v: %s starts before %s, which it needs (order %v)", targets, m.name, d, names)
				}
			}
			for _, d := range m.after {
				if j := slices.Index(names, d); j > i {
					t.Errorf("%v: %s starts before %s, which it comes after (order %v)", targets, m.name, d, names)
				}
			}
		}
		for _, target := range targets {
			if !slices.Contains(names, target) {
				t.Errorf("%v: %s does not start (order %v)", targets, target, names)
			}
		}
		if names[len(names)-1] != Server {
			t.Errorf("%v: the server is not the last to start, after every route is mounted (order %v)", targets, names)
		}
	}
}

// TestTokensStartAfterAuthWhateverTheTableOrder: token checking uses the
// auth service's keys when both run; the table says so, so that no order
// of its entries can start tokens first.
func TestTokensStartAfterAuthWhateverTheTableOrder(t *testing.T) {
	reversed := slices.Clone(table)
	slices.Reverse(reversed)
	for _, tbl := range [][]module{table, reversed} {
		order, err := startOrder(tbl, services)
		if err != nil {
			t.Fatal(err)
		}
		names := namesOf(order)
		if slices.Index(names, Auth) > slices.Index(names, Tokens) {
			t.Errorf("tokens start before auth: %v", names)
		}
	}
	order, err := startOrder(table, []string{Search})
	if err != nil {
		t.Fatal(err)
	}
	if names := namesOf(order); slices.Contains(names, Auth) {
		t.Errorf("search alone starts %v: auth, only come after, is not needed", names)
	}
}

func TestStartOrderRefusesCyclesAndUnknownModules(t *testing.T) {
	nop := table[0].start
	for _, c := range []struct {
		tbl  []module
		want string
	}{
		{[]module{{name: "a", needs: []string{"b"}, start: nop}, {name: "b", needs: []string{"a"}, start: nop}}, "cycle among a, b"},
		{[]module{{name: "a", after: []string{"b"}, start: nop}, {name: "b", needs: []string{"a"}, start: nop}}, "cycle among a, b"},
		{[]module{{name: "a", needs: []string{"nowhere"}, start: nop}}, `a depends on "nowhere"`},
		{[]module{{name: "a", after: []string{"nowhere"}, start: nop}}, `a depends on "nowhere"`},
	} {
		_, err := startOrder(c.tbl, []string{"a", "b"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c.tbl, err, c.want)
		}
	}
	if _, err := startOrder(table, []string{"payments"}); err == nil {
		t.Error("an unknown target was started")
	}
}

func namesOf(order []*module) []string {
	names := make([]string, len(order))
	for i, m := range order {
		names[i] = m.name
	}
	return names
}

func splitEach(list []string) [][]string {
	out := make([][]string, len(list))
	for i, s := range list {
		out[i] = []string{s}
	}
	return out
}
