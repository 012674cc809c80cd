package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// session is what one simulated user remembers between two actions. A
// user acts in sessions: it logs in at the start of one (when the run has
// credentials), browses with its bearer token, refreshes the token before
// it expires, and after a number of actions or some time leaves; its next
// action starts a new session. A session is used by one worker at a time.
type session struct {
	client *http.Client // its source address's client: a shopper keeps its address

	category string // the category browsed last
	cursor   string // its next page, if any

	started   time.Time // zero: the next action starts a session
	actions   int       // browsing actions in this session
	logins    int       // login attempts in this session
	access    string    // bearer token; empty: not logged in
	refresh   string    // refresh token of the access token
	refreshAt time.Time // when the access token is near enough its expiry to refresh
	refreshed bool      // the call just made was a refresh: never two in one turn
	etag      string    // the ETag of the last read of the hot product
}

// A workload decides what each request is.
type workload interface {
	// labels names what requests are recorded under (call.label indexes it).
	labels() []string
	// next is the request a user with session s sends at now. It is
	// called from many workers at once, each with its own session.
	next(s *session, now time.Time) call
	// notes tells the report how the workload departs from what was asked.
	notes() []string
}

// pathWorkload sends fixed URLs in turn.
type pathWorkload struct {
	names []string // as given on the command line
	urls  []string
	n     atomic.Uint64
}

func newPathWorkload(target string, paths []string) (*pathWorkload, error) {
	w := &pathWorkload{}
	for _, p := range paths {
		u := p
		switch {
		case strings.HasPrefix(p, "http://"), strings.HasPrefix(p, "https://"):
		case strings.HasPrefix(p, "/"):
			u = target + p
		default:
			return nil, fmt.Errorf("--path %q: want /path or an absolute http(s) URL", p)
		}
		if _, err := url.Parse(u); err != nil {
			return nil, fmt.Errorf("--path %q: %w", p, err)
		}
		w.names = append(w.names, p)
		w.urls = append(w.urls, u)
	}
	return w, nil
}

func (w *pathWorkload) labels() []string { return w.names }
func (w *pathWorkload) notes() []string  { return nil }

func (w *pathWorkload) next(*session, time.Time) call {
	i := int((w.n.Add(1) - 1) % uint64(len(w.urls)))
	return call{label: i, method: http.MethodGet, url: w.urls[i]}
}

// Page sizes the shopper's requests use, as a storefront would.
const (
	listingLimit     = 20
	bestsellersLimit = 10
	followCursorOdds = 2 // 1 in 2 browses with a next page go on to it
)

// maxLoginAttempts is how often a session tries to log in before it goes
// on browsing anonymously: a refused login is retried, as a shopper
// retries, but not for ever.
const maxLoginAttempts = 3

// refreshMargin is how long before its access token expires a session
// refreshes it: a quarter of the token's lifetime, at most a minute, as a
// storefront's client does so that no request goes out with a dead token.
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/4, time.Minute)
}

// mixWorkload is a shopper: sessions of actions of a Mix over a sample of
// the real catalog taken at warm-up.
type mixWorkload struct {
	base           string
	picker         picker
	categories     []string
	products       []productRef
	queries        *QueryMix
	brands         []string
	loginBody      []byte // nil: no credentials, sessions are anonymous
	sessionActions int
	sessionTime    time.Duration // 0: sessions end by their actions only
	searchFallback bool          // /api/search answered 404 at warm-up
	hot            string        // the id of the product the writer changes; "": none
	note           []string
}

type productRef struct{ id, slug string }

func (w *mixWorkload) labels() []string { return actionNames[:] }
func (w *mixWorkload) notes() []string  { return w.note }

func (w *mixWorkload) next(s *session, now time.Time) call {
	var c call
	if s.started.IsZero() || s.actions >= w.sessionActions || (w.sessionTime > 0 && now.Sub(s.started) >= w.sessionTime) {
		*s = session{client: s.client, started: now}
		c.sessionStart = true
	}
	if w.loginBody != nil && s.access == "" && s.logins < maxLoginAttempts {
		s.logins++
		c.label, c.method, c.url, c.body, c.tokens = int(actLogin), http.MethodPost, w.base+"/api/auth/login", w.loginBody, true
		return c
	}
	if s.access != "" && !s.refreshed && !now.Before(s.refreshAt) {
		s.refreshed = true
		body, _ := json.Marshal(map[string]string{"refresh_token": s.refresh}) // a string cannot fail to encode
		c.label, c.method, c.url, c.body, c.tokens, c.prelude = int(actRefresh), http.MethodPost, w.base+"/api/auth/refresh", body, true, true
		return c
	}
	s.refreshed = false
	s.actions++
	a := w.picker.pick()
	c.label, c.method, c.token = int(a), http.MethodGet, s.access
	switch a {
	case actBrowse:
		c.listing = true
		if s.cursor != "" && rand.IntN(followCursorOdds) == 0 {
			c.url = w.listingURL("category", s.category, s.cursor)
			break
		}
		s.category, s.cursor = "", ""
		if len(w.categories) > 0 {
			s.category = w.categories[rand.IntN(len(w.categories))]
		}
		c.url = w.listingURL("category", s.category, "")
	case actProduct:
		if w.hot != "" && rand.IntN(hotOdds) == 0 {
			c.url, c.hot = w.base+"/api/products/"+url.PathEscape(w.hot), true
			break
		}
		p := w.products[rand.IntN(len(w.products))]
		key := p.slug
		if p.id != "" && (key == "" || rand.IntN(2) == 0) {
			key = p.id
		}
		c.url = w.base + "/api/products/" + url.PathEscape(key)
	case actSearch:
		if w.searchFallback {
			if len(w.brands) > 0 && (len(w.categories) == 0 || rand.IntN(2) == 0) {
				c.url = w.listingURL("brand", w.brands[rand.IntN(len(w.brands))], "")
			} else {
				c.url = w.listingURL("category", pickOr(w.categories, ""), "")
			}
			break
		}
		c.url = w.base + "/api/search?q=" + url.QueryEscape(w.queries.draw())
	case actBestsellers:
		c.url = fmt.Sprintf("%s/api/products/bestsellers?limit=%d", w.base, bestsellersLimit)
	}
	return c
}

func (w *mixWorkload) listingURL(filter, value, cursor string) string {
	q := url.Values{"limit": {fmt.Sprint(listingLimit)}}
	if value != "" {
		q.Set(filter, value)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return w.base + "/api/products?" + q.Encode()
}

func pickOr(xs []string, fallback string) string {
	if len(xs) == 0 {
		return fallback
	}
	return xs[rand.IntN(len(xs))]
}

// Bounds of the warm-up sampling: enough variety to spread the load over
// the catalog, few enough requests to start quickly.
const (
	sampleCategories   = 100
	sampleListingPages = 5
	sampleListingLimit = 100
	sampleProducts     = 5000
)

// discover samples the catalog at target: categories, product ids and
// slugs, brands, and the names whose words and phrases shoppers search
// for. It also checks that search and login answer, so that the run
// measures what it says.
func discover(ctx context.Context, client *http.Client, o Options) (*mixWorkload, error) {
	w := &mixWorkload{base: o.Target, picker: newPicker(o.Mix), sessionActions: o.SessionActions, sessionTime: o.SessionTime}
	get := func(path string, v any) (int, error) {
		return getJSON(ctx, client, o.Target+path, o.Timeout, v)
	}
	var tree []categoryNode
	if status, err := get("/api/categories", &tree); err != nil {
		return nil, fmt.Errorf("warm-up: GET /api/categories: %w", err)
	} else if status != http.StatusOK {
		return nil, fmt.Errorf("warm-up: GET /api/categories answered %d", status)
	}
	w.categories = flattenCategories(tree, nil)
	if len(w.categories) == 0 {
		w.note = append(w.note, "the catalog has no categories: browse lists all products")
	}
	s := &sampler{get: get, seen: map[string]bool{}, brands: map[string]bool{}}
	if err := s.sample(w.categories); err != nil {
		return nil, err
	}
	if len(s.products) == 0 {
		return nil, fmt.Errorf("warm-up: the catalog at %s lists no products; seed it first", o.Target)
	}
	w.products = s.products
	w.brands = slices.Sorted(maps.Keys(s.brands))
	candidates := queryCandidates(s.names, w.brands)
	if len(candidates) == 0 { // names too short to be words: search for a product key
		candidates = []string{cmp.Or(w.products[0].slug, w.products[0].id)}
	}
	w.queries = newQueryMix(candidates, o.Seed)
	if err := w.checkSearch(get, o.Mix); err != nil {
		return nil, err
	}
	if err := w.checkLogin(ctx, client, o); err != nil {
		return nil, err
	}
	return w, nil
}

// sampler collects products from listings, each once.
type sampler struct {
	get      func(path string, v any) (int, error)
	seen     map[string]bool
	brands   map[string]bool
	names    []string
	products []productRef
}

// sample reads a few pages of the whole listing, then the first page of
// up to sampleCategories categories, up to sampleProducts products.
func (s *sampler) sample(categories []string) error {
	cursor := ""
	for range sampleListingPages {
		next, err := s.list("", cursor)
		if err != nil {
			return err
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	for i, c := range categories {
		if i >= sampleCategories || len(s.products) >= sampleProducts {
			break
		}
		if _, err := s.list(c, ""); err != nil {
			return err
		}
	}
	return nil
}

// list reads one page of a listing and returns the next page's cursor.
func (s *sampler) list(category, cursor string) (string, error) {
	q := url.Values{"limit": {fmt.Sprint(sampleListingLimit)}}
	if category != "" {
		q.Set("category", category)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page listingPage
	status, err := s.get("/api/products?"+q.Encode(), &page)
	if err != nil {
		return "", fmt.Errorf("warm-up: GET /api/products: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("warm-up: GET /api/products?%s answered %d", q.Encode(), status)
	}
	for _, p := range page.Items {
		key := p.ID + "\x00" + p.Slug
		if s.seen[key] || (p.ID == "" && p.Slug == "") || len(s.products) >= sampleProducts {
			continue
		}
		s.seen[key] = true
		s.products = append(s.products, productRef{id: p.ID, slug: p.Slug})
		if p.Brand != "" {
			s.brands[p.Brand] = true
		}
		s.names = append(s.names, cmp.Or(p.Name, p.Slug))
	}
	return page.NextCursor, nil
}

// checkSearch makes sure search answers when the mix searches; a 404
// (no search service) makes search fall back to a filtered listing.
func (w *mixWorkload) checkSearch(get func(path string, v any) (int, error), mix Mix) error {
	if mix.weights()[actSearch] <= 0 {
		return nil
	}
	var ignored json.RawMessage
	status, err := get("/api/search?q="+url.QueryEscape(w.queries.queries[0]), &ignored)
	switch {
	case err != nil && status == 0:
		return fmt.Errorf("warm-up: GET /api/search: %w", err)
	case status == http.StatusNotFound:
		w.searchFallback = true
		w.note = append(w.note, "GET /api/search answered 404 at warm-up: search falls back to a product listing filtered by brand or category")
	}
	return nil
}

// checkLogin logs in once with the run's account, when there is one.
func (w *mixWorkload) checkLogin(ctx context.Context, client *http.Client, o Options) error {
	if o.Email == "" {
		w.note = append(w.note, "no --email/--password (or VITRINE_BENCH_EMAIL/VITRINE_BENCH_PASSWORD): sessions browse anonymously, without logging in")
		return nil
	}
	body, err := json.Marshal(map[string]string{"email": o.Email, "password": o.Password})
	if err != nil {
		return err
	}
	status, err := send(ctx, client, call{method: http.MethodPost, url: o.Target + "/api/auth/login", body: body}, nil, o.Timeout)
	if err != nil {
		return fmt.Errorf("warm-up: POST /api/auth/login: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("warm-up: POST /api/auth/login answered %d for %s: check --email/--password, or leave them out for anonymous sessions", status, o.Email)
	}
	w.loginBody = body
	return nil
}

type categoryNode struct {
	Slug     string         `json:"slug"`
	Children []categoryNode `json:"children"`
}

func flattenCategories(nodes []categoryNode, into []string) []string {
	for _, n := range nodes {
		if n.Slug != "" {
			into = append(into, n.Slug)
		}
		into = flattenCategories(n.Children, into)
	}
	return into
}

type listingPage struct {
	Items      []listedProduct `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

type listedProduct struct {
	ID    string `json:"id"`
	Slug  string `json:"slug"`
	Name  string `json:"name"`
	Brand string `json:"brand"`
}

// nameWords are the words of a product's name (or slug) worth searching:
// three letters or more, lower case.
func nameWords(name, slug string) []string {
	if name == "" {
		name = slug
	}
	var out []string
	for f := range strings.FieldsFuncSeq(strings.ToLower(name), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len([]rune(f)) >= 3 {
			out = append(out, f)
		}
	}
	return out
}

// getJSON GETs url and decodes a 200 answer into v. Other statuses are
// returned with a nil error and v untouched.
func getJSON(ctx context.Context, client *http.Client, url string, timeout time.Duration, v any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vitrine-bench")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return resp.StatusCode, fmt.Errorf("decoding the answer: %w", err)
	}
	return resp.StatusCode, nil
}
