package bench

import (
	"bytes"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSessionsLogInOnceAndReuseTheirToken: with a session longer than the
// run, each user logs in once, and every read it makes carries the token
// that login gave it.
func TestSessionsLogInOnceAndReuseTheirToken(t *testing.T) {
	catalog := &fakeCatalog{email: "shopper@example.com", password: "s3cret"}
	srv := startFakeCatalog(t, catalog)
	o := testOptions(srv.URL, 700*time.Millisecond)
	o.Users, o.Think = 8, 10*time.Millisecond
	o.Email, o.Password = catalog.email, catalog.password
	o.SessionActions = 1_000_000

	r := mustRun(t, o)

	// One login at warm-up checks the credentials; then one per user.
	if got := catalog.count("login"); got != o.Users+1 {
		t.Errorf("server saw %d logins, want %d (warm-up and one per user)", got, o.Users+1)
	}
	if r.Sessions.Started != int64(o.Users) || r.Sessions.Logins != int64(o.Users) || r.Sessions.LoginsPerSession != 1 {
		t.Errorf("sessions %+v, want %d sessions with one login each", r.Sessions, o.Users)
	}
	uses := snapshot(catalog, catalog.tokenUses)
	if uses[""] != 0 {
		t.Errorf("%d reads went out without a token", uses[""])
	}
	if len(uses) != o.Users {
		t.Errorf("reads carried %d distinct tokens, want one per user (%d): %v", len(uses), o.Users, uses)
	}
	reads := 0
	for _, n := range uses {
		reads += n
	}
	if reads < 5*o.Users {
		t.Errorf("only %d reads: too few to show the token reused", reads)
	}
	if login := actionOf(t, r, "login"); login.Requests != int64(o.Users) || login.Latency.P50 <= 0 {
		t.Errorf("login row %+v, want %d logins with their latency", login, o.Users)
	}
	var text bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "logins (1.00 per session)") {
		t.Errorf("text report does not give logins per session:\n%s", text.String())
	}
}

// TestSessionsEndAfterTheirActionsAndLogInAgain: with sessions of three
// actions, no token serves more than three reads, and each new session
// logs in.
func TestSessionsEndAfterTheirActionsAndLogInAgain(t *testing.T) {
	catalog := &fakeCatalog{email: "shopper@example.com", password: "s3cret"}
	srv := startFakeCatalog(t, catalog)
	o := testOptions(srv.URL, 700*time.Millisecond)
	o.Users, o.Think = 4, 10*time.Millisecond
	o.Email, o.Password = catalog.email, catalog.password
	o.SessionActions = 3

	r := mustRun(t, o)

	uses := snapshot(catalog, catalog.tokenUses)
	reads := 0
	for token, n := range uses {
		reads += n
		if n > o.SessionActions {
			t.Errorf("token %q served %d reads, more than a session's %d actions", token, n, o.SessionActions)
		}
	}
	if reads < 30 {
		t.Fatalf("only %d reads: too few to see sessions end", reads)
	}
	// Sessions still open at the end have made fewer than 3 reads.
	if minLogins := reads/o.SessionActions - o.Users; r.Sessions.Logins < int64(minLogins) {
		t.Errorf("%d logins for %d reads in sessions of %d actions, want at least %d", r.Sessions.Logins, reads, o.SessionActions, minLogins)
	}
	if r.Sessions.Started != r.Sessions.Logins {
		t.Errorf("sessions %+v: want one login per session", r.Sessions)
	}
}

// TestSessionsRefreshTheirTokenBeforeItExpires: tokens live one second, so
// within a run of 1.6 s every session refreshes its token (with the refresh
// token its login gave) instead of logging in again, and goes on reading
// with the new token.
func TestSessionsRefreshTheirTokenBeforeItExpires(t *testing.T) {
	catalog := &fakeCatalog{email: "shopper@example.com", password: "s3cret", tokenLifetime: 1}
	srv := startFakeCatalog(t, catalog)
	o := testOptions(srv.URL, 1600*time.Millisecond)
	o.Users, o.Think = 4, 20*time.Millisecond
	o.Email, o.Password = catalog.email, catalog.password
	o.SessionActions = 1_000_000

	r := mustRun(t, o)

	if got := catalog.count("refresh"); got < o.Users {
		t.Errorf("server saw %d refreshes, want at least one per user (%d)", got, o.Users)
	}
	if got := catalog.count("refresh-rejected"); got != 0 {
		t.Errorf("%d refreshes presented a token the server did not issue or that was spent", got)
	}
	if got := catalog.count("login"); got != o.Users+1 {
		t.Errorf("server saw %d logins, want %d: a refresh must spare the session a new login", got, o.Users+1)
	}
	uses := snapshot(catalog, catalog.tokenUses)
	refreshed := snapshot(catalog, catalog.refreshed)
	readsWithRefreshed := 0
	for token, n := range uses {
		if refreshed[token] {
			readsWithRefreshed += n
		}
	}
	if readsWithRefreshed == 0 {
		t.Errorf("no read carried a refreshed token: %v", uses)
	}
	if r.Sessions.Refreshes < int64(o.Users) || actionOf(t, r, "refresh").Requests != r.Sessions.Refreshes {
		t.Errorf("sessions %+v, refresh row %+v", r.Sessions, actionOf(t, r, "refresh"))
	}
	if r.Errors != 0 {
		t.Errorf("%d errors: %v", r.Errors, r.ErrorsByStatus)
	}
}

// TestSearchQueriesRepeatLikeShoppers: the searches the server sees repeat
// the popular queries and still reach into the rest of the vocabulary.
func TestSearchQueriesRepeatLikeShoppers(t *testing.T) {
	catalog := &fakeCatalog{}
	srv := startFakeCatalog(t, catalog)
	o := testOptions(srv.URL, 600*time.Millisecond)
	o.Users, o.Think = 20, 5*time.Millisecond
	o.Mix = Mix{Search: 1}

	mustRun(t, o)

	queries := snapshot(catalog, catalog.queries)
	total, top := 0, 0
	for _, n := range queries {
		total += n
		top = max(top, n)
	}
	// Several hundred are asked for; a busy machine sends fewer, and a
	// hundred still tell a popular query from the rest.
	if total < 100 {
		t.Fatalf("only %d searches", total)
	}
	// The fake catalog has about a dozen words and phrases: the most
	// popular of them takes about a third of the searches.
	if share := float64(top) / float64(total); share < 0.2 || share > 0.6 {
		t.Errorf("the most popular query has %.0f%% of %d searches, want about a third", 100*share, total)
	}
	if len(queries) < 6 {
		t.Errorf("only %d distinct queries: %v", len(queries), queries)
	}
}

// TestConnectionsComeFromManySourceAddresses: the server sees each of the
// source addresses as a client, and the report says how many were used.
func TestConnectionsComeFromManySourceAddresses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("binding any 127.x.y.z without configuration is a Linux feature")
	}
	catalog := &fakeCatalog{}
	srv := startFakeCatalog(t, catalog)
	o := testOptions(srv.URL, 500*time.Millisecond)
	o.Users, o.Think = 64, 5*time.Millisecond
	o.Conns = 16
	var err error
	if o.SourceAddrs, err = parseSourceAddrs("127.0.9.0/29,127.0.10.1"); err != nil {
		t.Fatal(err)
	}
	if len(o.SourceAddrs) != 9 {
		t.Fatalf("parsed %d addresses, want 9: %v", len(o.SourceAddrs), o.SourceAddrs)
	}

	r := mustRun(t, o)

	ips := snapshot(catalog, catalog.remoteIPs)
	for _, a := range o.SourceAddrs {
		if ips[a.String()] == 0 {
			t.Errorf("no request came from %s; the server saw %v", a, ips)
		}
	}
	// The warm-up goes out from the first address too.
	if len(ips) != len(o.SourceAddrs) {
		t.Errorf("server saw %d client addresses, want only the %d given: %v", len(ips), len(o.SourceAddrs), ips)
	}
	if r.Client.SourceAddrs != 9 || r.Client.SourceAddrsUsed != 9 {
		t.Errorf("client %+v, want 9 source addresses, all used", r.Client)
	}
	if r.Errors != 0 {
		t.Errorf("%d errors: %v %v", r.Errors, r.TransportErrors, r.TransportErrorSamples)
	}
}

// TestFixedPathsComeFromEveryAddress: sending fixed paths back to back
// with fewer workers than addresses, the requests still come from every
// address, so that no address alone goes past a per-address limit.
func TestFixedPathsComeFromEveryAddress(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("binding any 127.x.y.z without configuration is a Linux feature")
	}
	catalog := &fakeCatalog{}
	srv := startFakeCatalog(t, catalog)
	o := testOptions(srv.URL, 500*time.Millisecond)
	o.Paths = []string{"/api/products/bestsellers"}
	o.Concurrency, o.Conns = 2, 8
	var err error
	if o.SourceAddrs, err = parseSourceAddrs("127.0.11.0/29"); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, o)
	ips := snapshot(catalog, catalog.remoteIPs)
	for _, a := range o.SourceAddrs {
		if int64(ips[a.String()]) < r.Requests/int64(4*len(o.SourceAddrs)) {
			t.Errorf("%s sent %d of %d requests; the server saw %v", a, ips[a.String()], r.Requests, ips)
		}
	}
}

// TestEachUserKeepsItsSourceAddress: a user's requests all come from one
// address, so a per-address limit sees a shopper's own pace.
func TestEachUserKeepsItsSourceAddress(t *testing.T) {
	pool := newClientPool(6, []netip.Addr{netip.MustParseAddr("127.0.2.1"), netip.MustParseAddr("127.0.2.2"), netip.MustParseAddr("127.0.2.3")}, time.Second)
	for user := range 30 {
		first := pool.forUser(user)
		if again := pool.forUser(user); again != first || first != pool.clients[user%3] {
			t.Fatalf("user %d does not keep one client", user)
		}
	}
	for i, c := range pool.clients {
		if got := c.Transport.(*http.Transport).MaxConnsPerHost; got != 2 {
			t.Errorf("address %d holds %d connections, want 6/3 = 2", i, got)
		}
	}
}

func TestSourceAddressesMustBeLoopback(t *testing.T) {
	for _, bad := range []string{
		"10.0.0.1", "192.168.1.0/24", "0.0.0.0/0", "126.255.255.255", "127.0.0.0/7",
		"::/0", "fe80::1", "::2", "127.0.0.1,10.0.0.1",
		"127.0.0.0/8",         // far more addresses than connections can hold
		"127.0.0.1,::1",       // two families
		"127.0.0.1/33", "oak", // not addresses
		"127.0.1.0/21", // not a block: 127.0.0.0/21 was meant, or 127.0.8.0/21
	} {
		if addrs, err := parseSourceAddrs(bad); err == nil {
			t.Errorf("%q accepted as %d addresses", bad, len(addrs))
		}
	}
	got, err := parseSourceAddrs("127.0.1.0/30, 127.0.1.2, ::ffff:127.0.5.5")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.1.0", "127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.5.5"}
	if len(got) != len(want) {
		t.Fatalf("parsed %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("address %d is %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := parseSourceAddrs("::1"); err != nil {
		t.Errorf("::1 refused: %v", err)
	}

	// A library caller cannot slip a remote address past the flags.
	o := testOptions("http://127.0.0.1:1", time.Second)
	o.SourceAddrs = []netip.Addr{netip.MustParseAddr("192.0.2.7")}
	if _, err := Run(t.Context(), o, nil); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("Run with a remote source address: %v", err)
	}
	// Nor aim loopback sources at another machine.
	o.SourceAddrs = []netip.Addr{netip.MustParseAddr("127.0.1.1")}
	o.Target = "http://192.0.2.10:8080"
	if _, err := Run(t.Context(), o, nil); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("Run against a remote target: %v", err)
	}
}

// TestTooManyConnectionsForTheFileLimitAreRefused: the open-file limit
// (20,000 here, and it cannot be raised) bounds the connections a run may
// hold; a run that cannot fit is refused before it starts.
func TestTooManyConnectionsForTheFileLimitAreRefused(t *testing.T) {
	limit := fdLimit()
	if limit <= 0 || limit > maxConns-fdReserve {
		t.Skipf("open-file limit %d: no --conns within bounds exceeds it", limit)
	}
	o := testOptions("http://127.0.0.1:1", time.Second)
	o.Conns = int(limit)
	o.SourceAddrs, _ = parseSourceAddrs("127.0.8.0/24")
	_, err := Run(t.Context(), o, nil)
	if err == nil || !strings.Contains(err.Error(), "open-file limit") {
		t.Errorf("--conns %d with a limit of %d: %v", o.Conns, limit, err)
	}
}
