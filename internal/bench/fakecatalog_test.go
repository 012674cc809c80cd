package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCatalog is a tiny stand-in for Vitrine's public API, just enough for
// the load generator to sample a catalog and drive every action. It is not
// the product service (that lives in internal/product): it keeps ninety
// products in memory and counts what it is asked.
type fakeCatalog struct {
	// Set before start.
	email, password   string // accepted login; empty: every login fails
	tokenLifetime     int    // expires_in of access tokens, in seconds; 0: 900
	noSearch          bool   // GET /api/search answers 404, as before search exists
	failBestsellers   bool   // GET /api/products/bestsellers answers 503
	stallAfter        time.Duration
	stallWindow       time.Duration // GET /stall sleeps stallFor while in [first+after, first+after+window)
	stallFor          time.Duration
	products          []fakeProduct
	categoriesPayload []byte
	// readLag: a product read answers the version that was current this
	// long before, as a cache that learns of a change late would.
	readLag time.Duration

	mu         sync.Mutex
	hits       map[string]int
	firstStall time.Time
	issued     int                      // access tokens issued, by login or refresh
	refreshes  map[string]string        // unspent refresh token -> the access token issued with it
	tokenUses  map[string]int           // reads made with each access token ("" for none)
	refreshed  map[string]bool          // access tokens issued by a refresh
	remoteIPs  map[string]int           // requests by client IP
	queries    map[string]int           // searches by query
	versions   map[string][]fakeVersion // writes by product id, oldest first
}

// fakeVersion is a version a PATCH made, and when.
type fakeVersion struct {
	version int
	at      time.Time
}

// versionOf is the version a read of product id answers now: the last
// one made at least readLag ago (1 before any write).
func (f *fakeCatalog) versionOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := 1
	for _, w := range f.versions[id] {
		if time.Since(w.at) >= f.readLag {
			v = w.version
		}
	}
	return v
}

type fakeProduct struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Brand    string `json:"brand"`
	Category string `json:"category"`
}

var fakeCategories = []struct {
	parent string
	slugs  []string
}{
	{"furniture", []string{"chairs", "tables"}},
	{"lighting", []string{"lamps"}},
}

// startFakeCatalog serves f on a loopback port until the test ends.
func startFakeCatalog(t *testing.T, f *fakeCatalog) *httptest.Server {
	t.Helper()
	f.hits = map[string]int{}
	leaves := []string{"chairs", "tables", "lamps"}
	nouns := []string{"Oak Chair", "Walnut Table", "Brass Lamp"}
	for i := range 90 { // 30 per leaf category: more than one page of 20
		f.products = append(f.products, fakeProduct{
			ID:       fmt.Sprintf("01900000-0000-7000-8000-%012d", i),
			Slug:     fmt.Sprintf("product-%02d", i),
			Name:     fmt.Sprintf("%s %02d", nouns[i%3], i),
			Brand:    []string{"acme", "globex"}[i%2],
			Category: leaves[i%3],
		})
	}
	type node struct {
		Slug     string `json:"slug"`
		Name     string `json:"name"`
		Children []node `json:"children"`
	}
	var tree []node
	for _, c := range fakeCategories {
		n := node{Slug: c.parent, Name: c.parent, Children: []node{}}
		for _, s := range c.slugs {
			n.Children = append(n.Children, node{Slug: s, Name: s, Children: []node{}})
		}
		tree = append(tree, n)
	}
	f.categoriesPayload, _ = json.Marshal(tree)

	f.refreshes, f.tokenUses, f.refreshed = map[string]string{}, map[string]int{}, map[string]bool{}
	f.remoteIPs, f.queries, f.versions = map[string]int{}, map[string]int{}, map[string][]fakeVersion{}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/categories", func(w http.ResponseWriter, r *http.Request) {
		f.hit("categories")
		writeJSON(w, http.StatusOK, json.RawMessage(f.categoriesPayload))
	})
	mux.HandleFunc("GET /api/products", f.list)
	mux.HandleFunc("GET /api/products/bestsellers", func(w http.ResponseWriter, r *http.Request) {
		f.hit("bestsellers")
		if f.failBestsellers {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"title": "overloaded", "status": 503})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": f.products[:10]})
	})
	mux.HandleFunc("GET /api/products/{key}", func(w http.ResponseWriter, r *http.Request) {
		f.hit("product")
		key := r.PathValue("key")
		for _, p := range f.products {
			if p.ID == key || p.Slug == key {
				w.Header().Set("ETag", fmt.Sprintf(`"%d.%s"`, f.versionOf(p.ID), p.Slug))
				w.Header().Set("Cache-Control", "public, max-age=60")
				writeJSON(w, http.StatusOK, p)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"title": "not found", "status": 404})
	})
	// A change of a product by an admin (any token the fake issued).
	mux.HandleFunc("PATCH /api/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		_, issued := f.refreshed[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		f.mu.Unlock()
		if !issued {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"title": "unauthorized", "status": 401})
			return
		}
		f.hit("write")
		id := r.PathValue("id")
		f.mu.Lock()
		v := len(f.versions[id]) + 2
		f.versions[id] = append(f.versions[id], fakeVersion{v, time.Now()})
		f.mu.Unlock()
		w.Header().Set("ETag", fmt.Sprintf(`"%d.%s"`, v, id))
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "version": v})
	})
	mux.HandleFunc("GET /api/search", func(w http.ResponseWriter, r *http.Request) {
		if f.noSearch {
			http.NotFound(w, r)
			return
		}
		f.hit("search")
		f.mu.Lock()
		f.queries[r.URL.Query().Get("q")]++
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"hits": []any{}, "total": 0, "query": r.URL.Query().Get("q")})
	})
	mux.HandleFunc("POST /api/auth/login", func(w http.ResponseWriter, r *http.Request) {
		var creds struct{ Email, Password string }
		if err := json.NewDecoder(r.Body).Decode(&creds); err != nil || f.email == "" ||
			creds.Email != f.email || creds.Password != f.password {
			f.hit("login-rejected")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"title": "bad credentials", "status": 401})
			return
		}
		f.hit("login")
		writeJSON(w, http.StatusOK, f.issue(false))
	})
	mux.HandleFunc("POST /api/auth/refresh", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		_, ok := f.refreshes[body.RefreshToken]
		delete(f.refreshes, body.RefreshToken) // single use
		f.mu.Unlock()
		if !ok {
			f.hit("refresh-rejected")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"title": "invalid refresh token", "status": 401})
			return
		}
		f.hit("refresh")
		writeJSON(w, http.StatusOK, f.issue(true))
	})
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		f.hit("ok")
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("GET /stall", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		f.mu.Lock()
		if f.firstStall.IsZero() {
			f.firstStall = now
		}
		from := f.firstStall.Add(f.stallAfter)
		stall := !now.Before(from) && now.Before(from.Add(f.stallWindow))
		if stall {
			f.hits["stalled"]++
		}
		f.hits["stall-path"]++
		f.mu.Unlock()
		if stall {
			time.Sleep(f.stallFor)
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	// Every request is seen with its client address and bearer token.
	seen := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		f.remoteIPs[ip]++
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/api/categories" {
			f.tokenUses[token]++
		}
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(seen)
	t.Cleanup(srv.Close)
	return srv
}

// issue makes a new pair of tokens, as a login or refresh answers. The
// first is the warm-up's check of the credentials: the catalog sampling
// before it is anonymous, and not counted in tokenUses.
func (f *fakeCatalog) issue(byRefresh bool) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issued == 0 {
		clear(f.tokenUses)
	}
	f.issued++
	access, refresh := fmt.Sprintf("access-%d", f.issued), fmt.Sprintf("refresh-%d", f.issued)
	f.refreshes[refresh] = access
	f.refreshed[access] = byRefresh
	return map[string]any{"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
		"expires_in": cmp.Or(f.tokenLifetime, 900)}
}

// snapshot copies one of the maps the server fills, under its lock.
func snapshot[V any](f *fakeCatalog, m map[string]V) map[string]V {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(m)
}

// list is GET /api/products: filters by category (with its descendants) and
// brand, pages with an opaque cursor.
func (f *fakeCatalog) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("cursor") != "":
		f.hit("listing-next-page")
	case q.Get("brand") != "":
		f.hit("listing-by-brand")
	default:
		f.hit("listing")
	}
	inCategory := map[string]bool{}
	if c := q.Get("category"); c != "" {
		inCategory[c] = true
		for _, fc := range fakeCategories {
			if fc.parent == c {
				for _, s := range fc.slugs {
					inCategory[s] = true
				}
			}
		}
	}
	var matching []fakeProduct
	for _, p := range f.products {
		if (len(inCategory) == 0 || inCategory[p.Category]) && (q.Get("brand") == "" || q.Get("brand") == p.Brand) {
			matching = append(matching, p)
		}
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 20
	}
	from := 0
	if c := q.Get("cursor"); c != "" {
		if from, err = strconv.Atoi(c); err != nil || from < 0 || from > len(matching) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"title": "bad cursor", "status": 400})
			return
		}
	}
	to := min(from+limit, len(matching))
	var next *string
	if to < len(matching) {
		s := strconv.Itoa(to)
		next = &s
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": matching[from:to], "next_cursor": next})
}

func (f *fakeCatalog) hit(kind string) {
	f.mu.Lock()
	f.hits[kind]++
	f.mu.Unlock()
}

func (f *fakeCatalog) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[kind]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
