package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/vitrine-dev/vitrine/internal/edge"
	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// varnish is a real varnishd running deploy/varnish/default.vcl in front
// of a Vitrine, on a loopback port of its own.
type varnish struct {
	t      *testing.T
	URL    string
	client *http.Client // sends Accept-Encoding only when asked to
	stderr *testwait.Buffer
}

// startVarnish runs varnishd with the repository's VCL on port, its
// backend the Vitrine at backendURL; only 127.0.0.1 may purge. It stops
// when the test ends. A machine without Varnish fails the test: make
// varnish (or deploy/local/install-deps.sh) installs it.
func startVarnish(t *testing.T, port int, backendURL string) *varnish {
	t.Helper()
	varnishd, err := exec.LookPath("varnishd")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/varnishd"); err != nil {
			t.Fatal("varnishd is not installed: run make varnish (Debian's varnish and varnish-modules)")
		}
		varnishd = "/usr/sbin/varnishd"
	}
	vclDir, err := filepath.Abs("../../deploy/varnish")
	if err != nil {
		t.Fatal(err)
	}
	host, backendPort, _ := strings.Cut(strings.TrimPrefix(backendURL, "http://"), ":")
	dir := t.TempDir()
	site := fmt.Sprintf("backend vitrine { .host = %q; .port = %q; }\nacl purgers { \"127.0.0.1\"; }\n", host, backendPort)
	if err := os.WriteFile(filepath.Join(dir, "site.vcl"), []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &testwait.Buffer{}
	// -F: in the foreground, a child of the test; -j none: as this user,
	// who owns the work directory; -T none: no management port.
	cmd := exec.Command(varnishd, "-F", "-j", "none", "-n", filepath.Join(dir, "work"),
		"-a", fmt.Sprintf("127.0.0.1:%d", port), "-T", "none",
		"-p", "vcl_path="+vclDir+":"+dir, "-f", filepath.Join(vclDir, "default.vcl"), "-s", "malloc,64m")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	v := &varnish{t: t, URL: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: stderr,
		client: &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("varnishd exited: %v\n%s", err, stderr.String())
		default:
		}
		if resp, err := v.client.Get(v.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("varnishd did not answer:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// edgeAnswer is what a client of the edge saw, its body decoded.
type edgeAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Cache is the edge's X-Cache: hit, miss or pass.
func (a edgeAnswer) Cache() string { return a.Header.Get("X-Cache") }

// get sends a GET through the edge with header, checks the answer against
// the contract, and decodes its body.
func (v *varnish) get(path string, header map[string]string) edgeAnswer {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.URL+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	for k, val := range header {
		req.Header.Set(k, val)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatalf("GET %s through the edge: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	body := raw
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			v.t.Fatalf("GET %s: gzip body: %v", path, err)
		}
	case "zstd":
		zr, err := zstd.NewReader(nil)
		if err == nil {
			body, err = zr.DecodeAll(raw, nil)
		}
		if err != nil {
			v.t.Fatalf("GET %s: zstd body: %v", path, err)
		}
	}
	if err := checkAgainstContract(req, resp, body); err != nil {
		v.t.Errorf("GET %s through the edge answered %d, which api/openapi.json does not allow: %v", path, resp.StatusCode, err)
	}
	return edgeAnswer{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// purge sends a purge of keys to the edge from the loopback address from.
func (v *varnish) purge(from string, keys string) int {
	v.t.Helper()
	req, err := http.NewRequest("PURGE", v.URL+"/", nil)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Xkey-Purge", keys)
	client := clientFrom(from)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// productName is the name an answer for a product shows.
func productName(t *testing.T, a edgeAnswer) string {
	t.Helper()
	if a.Status != http.StatusOK {
		t.Fatalf("status %d: %s", a.Status, a.Body)
	}
	var p productJSON
	if err := json.Unmarshal(a.Body, &p); err != nil {
		t.Fatalf("decode %s: %v", a.Body, err)
	}
	return p.Name
}

// listedNames are the names a listing shows.
func listedNames(t *testing.T, a edgeAnswer) string {
	t.Helper()
	var page struct{ Items []productJSON }
	if err := json.Unmarshal(a.Body, &page); err != nil {
		t.Fatalf("decode %s: %v", a.Body, err)
	}
	names := make([]string, len(page.Items))
	for i, p := range page.Items {
		names[i] = p.Name
	}
	return strings.Join(names, ",")
}

// expectCache fails the test unless a came from the edge as want says
// (hit, miss or pass).
func expectCache(t *testing.T, what string, a edgeAnswer, want string) edgeAnswer {
	t.Helper()
	if a.Status != http.StatusOK {
		t.Fatalf("%s: status %d: %s", what, a.Status, a.Body)
	}
	if got := a.Cache(); got != want {
		t.Fatalf("%s: X-Cache %q, want %q (Age %q, Cache-Control %q)", what, got, want, a.Header.Get("Age"), a.Header.Get("Cache-Control"))
	}
	return a
}

// TestEdgeCacheServesAndPurges: a real Varnish with the repository's VCL
// in front of an all-in-one Vitrine that purges it. Public reads are
// kept (a miss, then hits) in each encoding apart; what is someone's own
// passes; a change made through Vitrine is purged from the edge by its
// surrogate keys, and the next read through the edge shows it, within
// milliseconds; only the purgers' addresses may purge.
func TestEdgeCacheServesAndPurges(t *testing.T) {
	edgePort := testwait.FreePort(t)
	c := startCatalog(t, "--edge-purge-url", fmt.Sprintf("http://127.0.0.1:%d", edgePort),
		"--rate-limit-ip", "off", "--admin-addr", "127.0.0.1:0")
	v := startVarnish(t, edgePort, c.URL)

	c.createCategory(t, "lamps", "")
	long := strings.Repeat("A lamp for reading, writing and the small hours. ", 4)
	var lamp productJSON
	for i := range 12 {
		p := c.createProduct(t, productBody(fmt.Sprintf("Lamp %02d", i), fmt.Sprintf("LAMP-%02d", i), int64(1000+i),
			map[string]any{"category": "lamps", "description": long}))
		if i == 0 {
			lamp = p
		}
	}
	productPath, listPath := "/api/products/"+lamp.ID, "/api/products?category=lamps&sort=price&limit=50"
	// The changes above are being purged (and purged again a second
	// later): a purge landing between two reads would make a hit a miss.
	purgesSettled(t, c.server)

	// A miss, then hits; the keys and s-maxage stay in the edge.
	first := expectCache(t, "first read", v.get(productPath, nil), "miss")
	if first.Header.Get("Xkey") != "" || strings.Contains(first.Header.Get("Cache-Control"), "s-maxage") {
		t.Errorf("the edge passed on its own headers: xkey %q, Cache-Control %q", first.Header.Get("Xkey"), first.Header.Get("Cache-Control"))
	}
	hit := expectCache(t, "second read", v.get(productPath, nil), "hit")
	if productName(t, hit) != "Lamp 00" || hit.Header.Get("Age") == "" {
		t.Fatalf("hit: %q, Age %q", hit.Body, hit.Header.Get("Age"))
	}

	// Each encoding is a variant of its own, kept apart and sent as such.
	for _, enc := range []string{"gzip", "zstd", ""} {
		header := map[string]string{}
		if enc != "" {
			header["Accept-Encoding"] = enc
		}
		for i, want := range []string{"miss", "hit"} {
			a := expectCache(t, fmt.Sprintf("listing in %q, read %d", enc, i+1), v.get(listPath, header), want)
			if got := a.Header.Get("Content-Encoding"); got != enc {
				t.Fatalf("listing asked in %q came in %q", enc, got)
			}
			if names := listedNames(t, a); !strings.HasPrefix(names, "Lamp 00,Lamp 01") {
				t.Fatalf("listing in %q: %s", enc, names)
			}
		}
	}
	// A client accepting both gets Vitrine's preference, from the cache.
	expectCache(t, "listing for a client taking both", v.get(listPath, map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}), "hit")

	// Someone's own requests pass, every time.
	for _, h := range []map[string]string{
		{"Authorization": "Bearer " + c.customer},
		{"Cookie": "session=abc"},
		{"X-Vitrine-Recent-Writer": "1"},
	} {
		for range 2 {
			expectCache(t, fmt.Sprintf("a read with %v", h), v.get(productPath, h), "pass")
		}
	}

	// Only the purgers may purge: 127.0.0.2 is refused, and the copy stays.
	if status := v.purge("127.0.0.2", "p:"+lamp.ID); status != http.StatusForbidden {
		t.Errorf("a purge from 127.0.0.2 answered %d, want 403", status)
	}
	expectCache(t, "read after a refused purge", v.get(productPath, nil), "hit")

	// A change through Vitrine (not the edge) is purged from the edge: the
	// product and every listing show it at the next read.
	expectCache(t, "listing before the change", v.get(listPath, nil), "hit")
	expect(t, c.do(call{Method: "PATCH", Path: productPath, Token: c.admin, ContentType: "application/merge-patch+json",
		Body: `{"name": "Lamp 00 (brass)"}`}), 200)
	changed := time.Now()
	var visible time.Duration
	for productName(t, v.get(productPath, nil)) != "Lamp 00 (brass)" {
		if time.Since(changed) > 5*time.Second {
			t.Fatal("the edge still serves the product as it was 5 s after the change")
		}
		time.Sleep(time.Millisecond)
	}
	visible = time.Since(changed)
	t.Logf("the change was visible through the edge %v after the write was acknowledged", visible.Round(100*time.Microsecond))
	testwait.Until(t, 5*time.Second, "the listing through the edge shows the change", func() bool {
		return strings.HasPrefix(listedNames(t, v.get(listPath, nil)), "Lamp 00 (brass),Lamp 01")
	})
	if visible > time.Second {
		t.Errorf("the change took %v to show through the edge, want well under a second", visible)
	}
	// The second purge of the change, a second later, dropped the fresh
	// copy too; the next read caches it again.
	purgesSettled(t, c.server)
	expectCache(t, "read after the purges", v.get(productPath, nil), "miss")
	expectCache(t, "read after that", v.get(productPath, nil), "hit")
	if !metricValue(t, c.server, `vitrine_edge_purges_total{result="ok"}`) || metricValue(t, c.server, `vitrine_edge_purges_total{result="failed"}`) {
		t.Errorf("purge counters:\n%s", grepLines(c.metrics(), "vitrine_edge_purge"))
	}
	if !metricValue(t, c.server, "vitrine_edge_purge_lag_seconds_count") {
		t.Errorf("no purge lag measured:\n%s", grepLines(c.metrics(), "vitrine_edge_purge"))
	}
}

// purgesSettled waits until s has sent no purge for longer than the
// second purge of a change waits (edge.RepurgeAfter).
func purgesSettled(t *testing.T, s *server) {
	t.Helper()
	count := func() string { return grepLines(s.metrics(), `vitrine_edge_purges_total{result="ok"}`) }
	last, since := count(), time.Now()
	testwait.Until(t, 30*time.Second, "the purges of the changes made settle", func() bool {
		if now := count(); now != last {
			last, since = now, time.Now()
		}
		return time.Since(since) > edge.RepurgeAfter+500*time.Millisecond
	})
}

// TestEdgeCacheWithoutPurgesIsBoundedBySMaxAge: with no purges (the
// consumer not running), the edge serves a changed product as it was, but
// no longer than the s-maxage (2 s here) after it fetched it.
func TestEdgeCacheWithoutPurgesIsBoundedBySMaxAge(t *testing.T) {
	const sMaxAge = 2 * time.Second
	c := startCatalog(t, "--edge-max-age", sMaxAge.String(), "--rate-limit-ip", "off")
	v := startVarnish(t, testwait.FreePort(t), c.URL)
	p := c.createProduct(t, productBody("Kettle", "KET-1", 2999, nil))
	path := "/api/products/" + p.ID

	fetched := time.Now()
	expectCache(t, "first read", v.get(path, nil), "miss")
	expect(t, c.do(call{Method: "PATCH", Path: path, Token: c.admin, ContentType: "application/merge-patch+json",
		Body: `{"name": "Electric Kettle"}`}), 200)
	stale := 0
	for {
		a := v.get(path, nil)
		if productName(t, a) == "Electric Kettle" {
			break
		}
		stale++
		if age, _ := strconv.Atoi(a.Header.Get("Age")); time.Duration(age)*time.Second > sMaxAge {
			t.Fatalf("served stale with Age %ds, past the s-maxage", age)
		}
		if time.Since(fetched) > sMaxAge+time.Second {
			t.Fatalf("still stale %v after the edge fetched it, s-maxage %v", time.Since(fetched), sMaxAge)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fresh := time.Since(fetched)
	if stale == 0 {
		t.Fatal("the edge never served the old copy: something purged it, so this test shows nothing")
	}
	if fresh < sMaxAge-200*time.Millisecond {
		t.Errorf("fresh %v after the fetch, before the s-maxage (%v) ran out: something purged it", fresh, sMaxAge)
	}
	t.Logf("without purges the edge served the old copy %d times, and the change %v after it fetched the product (s-maxage %v)", stale, fresh.Round(time.Millisecond), sMaxAge)
}

// TestEdgeStalenessAcrossClients: a product is changed through Vitrine
// again and again while many clients, each from an address of its own,
// read it through the edge; for each change, the time until each client
// sees it. The edge holds the product before every change, so what is
// measured is the purge path: outbox, stream, purge consumer, Varnish.
func TestEdgeStalenessAcrossClients(t *testing.T) {
	const clients, changes = 16, 20
	edgePort := testwait.FreePort(t)
	c := startCatalog(t, "--edge-purge-url", fmt.Sprintf("http://127.0.0.1:%d", edgePort),
		"--rate-limit-ip", "off", "--admin-addr", "127.0.0.1:0")
	v := startVarnish(t, edgePort, c.URL)
	p := c.createProduct(t, productBody("Desk 0", "DESK-0", 10000, nil))
	path := "/api/products/" + p.ID
	readers := make([]*http.Client, clients)
	for k := range readers {
		readers[k] = clientFrom(fmt.Sprintf("127.0.9.%d", k+1))
		defer readers[k].CloseIdleConnections()
	}
	// name reads the product's name through the edge as one client.
	name := func(client *http.Client) (string, error) {
		resp, err := client.Get(v.URL + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var got productJSON
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %d: %v", resp.StatusCode, err)
		}
		return got.Name, nil
	}

	var seen []time.Duration
	for i := 1; i <= changes; i++ {
		want := fmt.Sprintf("Desk %d", i)
		testwait.Until(t, 5*time.Second, "the edge holds the product before the change", func() bool {
			return v.get(path, nil).Cache() == "hit"
		})
		expect(t, c.do(call{Method: "PATCH", Path: path, Token: c.admin, ContentType: "application/merge-patch+json",
			Body: fmt.Sprintf(`{"name": %q}`, want)}), 200)
		changed := time.Now()
		took := make([]time.Duration, clients)
		errs := make([]error, clients)
		var wg sync.WaitGroup
		for k, client := range readers {
			wg.Go(func() {
				for {
					got, err := name(client)
					if err != nil {
						errs[k] = err
						return
					}
					if got == want {
						took[k] = time.Since(changed)
						return
					}
					if time.Since(changed) > 5*time.Second {
						errs[k] = fmt.Errorf("still %q 5 s after the change to %q", got, want)
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		seen = append(seen, took...)
	}
	slices.Sort(seen)
	p50, p99 := seen[len(seen)/2], seen[len(seen)*99/100]
	t.Logf("%d changes read back by %d clients through the edge: every client saw a change after p50 %v, p99 %v, at most %v",
		changes, clients, p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), seen[len(seen)-1].Round(100*time.Microsecond))
	if p99 > time.Second {
		t.Errorf("p99 %v until a client sees a change through the edge, want under 1 s", p99)
	}
}
