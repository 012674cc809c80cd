package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// action is one kind of thing a simulated shopper does.
type action int

// The first numMixActions are what a shopper does between two thoughts, in
// the proportions of the Mix; login and refresh belong to the session, not
// to the mix: a session logs in once and refreshes its token when it nears
// expiry.
const (
	actBrowse      action = iota // a category listing, sometimes the next page
	actProduct                   // one product page, by id or slug
	actSearch                    // a search drawn from the query distribution
	actBestsellers               // the bestsellers list
	actLogin                     // POST /api/auth/login, once at the start of a session
	actRefresh                   // POST /api/auth/refresh, before an action when the access token nears expiry
	numActions
)

const numMixActions = actLogin

var actionNames = [numActions]string{"browse", "product", "search", "bestsellers", "login", "refresh"}

func (a action) String() string { return actionNames[a] }

// Mix is the relative weight of each browsing action in the closed and
// open models.
type Mix struct {
	Browse, Product, Search, Bestsellers int
}

// DefaultMix is a shopping session: mostly browsing and product pages.
var DefaultMix = Mix{Browse: 40, Product: 30, Search: 20, Bestsellers: 5}

func (m Mix) weights() [numMixActions]int {
	return [numMixActions]int{m.Browse, m.Product, m.Search, m.Bestsellers}
}

func (m *Mix) set(a action, w int) {
	switch a {
	case actBrowse:
		m.Browse = w
	case actProduct:
		m.Product = w
	case actSearch:
		m.Search = w
	case actBestsellers:
		m.Bestsellers = w
	}
}

// String is the --mix syntax: browse=40,product=30,...
func (m Mix) String() string {
	var b strings.Builder
	for a, w := range m.weights() {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", action(a), w)
	}
	return b.String()
}

// Set reads m in the --mix syntax, for flag.Value.
func (m *Mix) Set(s string) error {
	parsed, err := parseMix(s)
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

// parseMix reads name=weight pairs. Actions left out weigh 0.
func parseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return m, fmt.Errorf("%q: want name=weight", part)
		}
		a, known := actionByName(name)
		if name == actLogin.String() {
			return m, errors.New("login is not a share of the mix: sessions log in once when --email and --password are given (see --session-actions)")
		}
		if !known {
			return m, fmt.Errorf("unknown action %q (want browse, product, search or bestsellers)", name)
		}
		if seen[name] {
			return m, fmt.Errorf("action %q given twice", name)
		}
		seen[name] = true
		w, err := strconv.Atoi(strings.TrimSpace(weight))
		if err != nil || w < 0 || w > 1_000_000 {
			return m, fmt.Errorf("%q: weight must be an integer in 0..1000000", part)
		}
		m.set(a, w)
	}
	if m.total() == 0 {
		return m, errors.New("all weights are zero")
	}
	return m, nil
}

func actionByName(name string) (action, bool) {
	for a, n := range actionNames[:numMixActions] {
		if n == name {
			return action(a), true
		}
	}
	return 0, false
}

func (m Mix) total() int {
	t := 0
	for _, w := range m.weights() {
		t += w
	}
	return t
}

// picker draws actions in proportion to a mix.
type picker struct {
	cumulative [numMixActions]int
	total      int
}

func newPicker(m Mix) picker {
	var p picker
	for a, w := range m.weights() {
		p.total += w
		p.cumulative[a] = p.total
	}
	return p
}

func (p *picker) pick() action {
	n := rand.IntN(p.total)
	for a, c := range p.cumulative {
		if n < c {
			return action(a)
		}
	}
	return actBrowse // unreachable: n < total = cumulative[last]
}
