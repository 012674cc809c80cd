package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowBody is a client sending a request body it never finishes, from a
// loopback address of its own.
type slowBody struct {
	conn net.Conn
	r    *bufio.Reader
	stop chan struct{}
}

// startSlowBody sends the head of a POST with a 1000-byte JSON body and
// waits for the server's first answer. It asks for "100 Continue", which
// the server sends when a handler first reads the body: proof that the
// request is in the server, waiting for its body. Any other answer (a
// refusal) is returned instead.
func startSlowBody(t *testing.T, s *server, from, path string) (*slowBody, *http.Response) {
	t.Helper()
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	conn, err := dialer.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// A bound, not an expectation: a server that never answers fails the
	// test instead of hanging it.
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	sb := &slowBody{conn: conn, r: bufio.NewReader(conn), stop: make(chan struct{})}
	t.Cleanup(sb.close) // before the server stops: it waits for requests in flight
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: vitrine.test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", path)
	resp, err := http.ReadResponse(sb.r, nil)
	if err != nil {
		t.Fatalf("slow client %s: %v", from, err)
	}
	if resp.StatusCode != http.StatusContinue {
		return sb, resp
	}
	return sb, nil
}

// trickle sends one byte of the body every interval, at most n, until the
// connection fails or the client closes.
func (sb *slowBody) trickle(interval time.Duration, n int) {
	go func() {
		for range n {
			select {
			case <-sb.stop:
				return
			case <-time.After(interval):
			}
			if _, err := sb.conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
}

func (sb *slowBody) close() {
	select {
	case <-sb.stop:
	default:
		close(sb.stop)
		sb.conn.Close()
	}
}

// TestSlowBodiesDoNotStarveOthers: ten clients trickling request bodies
// into a server that serves ten requests at once do not take its slots:
// everyone else is still served.
func TestSlowBodiesDoNotStarveOthers(t *testing.T) {
	c := startCatalog(t, "--max-in-flight", "10", "--body-timeout", "1m")
	for i := range 10 {
		sb, refused := startSlowBody(t, c.server, fmt.Sprintf("127.0.0.%d", 2+i), "/api/analytics/events")
		if refused != nil {
			t.Fatalf("slow client %d was refused: %d", i+1, refused.StatusCode)
		}
		sb.trickle(200*time.Millisecond, 300)
	}
	expect(t, c.get("/api/categories", ""), 200)
	expect(t, c.get("/api/auth/me", c.customer), 200)
	teapot := c.createProduct(t, productBody("Patient Teapot", "TEA-1", 2500, nil))
	expect(t, c.do(call{Method: "POST", Path: "/api/analytics/events",
		Body: map[string]any{"events": []map[string]any{{"id": "patient-1", "type": "view", "product_id": teapot.ID}}}}), 202)
}

// TestSlowBodyIsCutOff: a body still trickling in when the body timeout
// ends is answered 408, and the connection is closed; trickling bytes
// does not extend the deadline.
func TestSlowBodyIsCutOff(t *testing.T) {
	s := startServer(t, nil, "--data-dir", t.TempDir(), "--body-timeout", "1s")
	sb, refused := startSlowBody(t, s, "127.0.0.2", "/api/auth/login")
	if refused != nil {
		t.Fatalf("slow client refused: %d", refused.StatusCode)
	}
	sb.trickle(100*time.Millisecond, 600) // 60 s of trickling, far past the timeout
	resp, err := http.ReadResponse(sb.r, nil)
	if err != nil {
		t.Fatalf("no answer to a body that never completes: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	r.expectProblem(t, http.StatusRequestTimeout)
	if !resp.Close {
		t.Error("the 408 does not close the connection")
	}
	if _, err := sb.r.ReadByte(); err == nil {
		t.Fatal("the connection is still open after the 408")
	}

	// A body sent at once is not affected.
	expect(t, s.do(call{Method: "POST", Path: "/api/auth/login", Body: map[string]string{"email": "x@vitrine.test", "password": "not-the-password"}}), 401)
}

// TestOneClientCannotHoldManySlots: past --max-in-flight-per-client
// requests in flight, that client alone is refused with 429.
func TestOneClientCannotHoldManySlots(t *testing.T) {
	s := startServer(t, nil, "--data-dir", t.TempDir(), "--max-in-flight-per-client", "2", "--body-timeout", "1m")
	var held []*slowBody
	for range 2 {
		sb, refused := startSlowBody(t, s, "127.0.0.20", "/api/auth/login")
		if refused != nil {
			t.Fatalf("slow request within the limit refused: %d", refused.StatusCode)
		}
		held = append(held, sb)
	}
	_, refused := startSlowBody(t, s, "127.0.0.20", "/api/auth/login")
	if refused == nil || refused.StatusCode != http.StatusTooManyRequests || refused.Header.Get("Retry-After") == "" {
		t.Fatalf("third request in flight from one address: %+v, want 429 with Retry-After", refused)
	}
	s.do(call{Method: "GET", Path: "/api/categories", From: "127.0.0.20"}).expectProblem(t, 429)
	expect(t, s.do(call{Method: "GET", Path: "/api/categories", From: "127.0.0.21"}), 200)

	// Once one of its requests ends, the client is served again.
	held[0].close()
	eventually(t, 10*time.Second, "a freed slot is given back", func() bool {
		return s.do(call{Method: "GET", Path: "/api/categories", From: "127.0.0.20"}).Status == http.StatusOK
	})
}

// TestInvalidTokensAreRateLimitedPerAddress: the address limit applies
// before tokens are checked, so a flood of bad tokens ends in 429s, not
// in an endless stream of 401s each costing a signature check.
func TestInvalidTokensAreRateLimitedPerAddress(t *testing.T) {
	s := startServer(t, nil, "--data-dir", t.TempDir(), "--rate-limit-ip", "5/h:5")
	me := call{Method: "GET", Path: "/api/auth/me", Token: "eyJhbGciOiJFZERTQSJ9.e30.forged", From: "127.0.0.30"}
	for i := range 5 {
		if r := s.do(me); r.Status != http.StatusUnauthorized {
			t.Fatalf("invalid token %d: %d, want 401", i+1, r.Status)
		}
	}
	r := s.do(me)
	r.expectProblem(t, 429)
	if r.Header.Get("Retry-After") == "" || r.Header.Get("RateLimit-Policy") != `"ip";q=5;w=3600` {
		t.Fatalf("429 headers: %v", r.Header)
	}
	// Another address has its own budget.
	other := me
	other.From = "127.0.0.31"
	s.do(other).expectProblem(t, 401)
}

// TestUsersAreRateLimitedPerUser: a signed-in user has a budget of its
// own on top of the address's; spending it does not limit another user.
func TestUsersAreRateLimitedPerUser(t *testing.T) {
	c := startCatalog(t, "--rate-limit-user", "3/h:3")
	for i := range 3 {
		r := expect(t, c.get("/api/auth/me", c.customer), 200)
		if p := r.Header.Get("RateLimit-Policy"); !strings.Contains(p, `"ip";`) || !strings.Contains(p, `"user";q=3;w=3600`) {
			t.Fatalf("request %d: RateLimit-Policy %q, want the address and user policies", i+1, p)
		}
	}
	r := c.get("/api/auth/me", c.customer)
	r.expectProblem(t, 429)
	if !strings.Contains(r.Header.Get("RateLimit-Policy"), `"user";q=3;w=3600`) || r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 headers: %v", r.Header)
	}
	expect(t, c.get("/api/auth/me", c.admin), 200)
}

// TestMetricsAndLogsNameTheRoute: authenticated requests, and requests
// refused before the router, are counted and logged under their route.
func TestMetricsAndLogsNameTheRoute(t *testing.T) {
	c := startCatalog(t, "--admin-addr", "127.0.0.1:0", "--log-level", "debug")
	expect(t, c.get("/api/auth/me", c.customer), 200)
	c.get("/api/auth/me", "not-a-token").expectProblem(t, 401)
	p := c.createProduct(t, productBody("Named Route Lamp", "LAMP-1", 4200, nil))
	expect(t, c.do(call{Method: "DELETE", Path: "/api/products/" + p.ID, Token: c.admin}), 204)

	metrics := c.metrics()
	for _, want := range []string{
		`vitrine_http_requests_total{method="GET",route="GET /api/auth/me",status="200"} 1`,
		`vitrine_http_requests_total{method="GET",route="GET /api/auth/me",status="401"} 1`,
		`vitrine_http_requests_total{method="POST",route="POST /api/products",status="201"} 1`,
		`vitrine_http_requests_total{method="DELETE",route="DELETE /api/products/{id}",status="204"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `route="unmatched"`) {
		t.Errorf("some requests were counted as unmatched:\n%s", grepLines(metrics, "unmatched"))
	}

	var logged bool
	for _, line := range strings.Split(c.stderr.String(), "\n") {
		var entry struct {
			Msg, Method, Path, Route string
			Status                   int
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "request" && entry.Path == "/api/products/"+p.ID {
			logged = entry.Route == "DELETE /api/products/{id}" && entry.Status == 204
			if !logged {
				t.Errorf("access log line without the route: %s", line)
			}
		}
	}
	if !logged {
		t.Error("no access log line for the delete")
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestCORS: browsers on the listed origins may call the API, preflights
// included (never refused by rate limits, never asking for a token);
// other origins get no CORS headers.
func TestCORS(t *testing.T) {
	c := startCatalog(t, "--cors-origins", "https://shop.example, https://*.brand.example", "--rate-limit-ip", "5/h:5")
	p := c.createProduct(t, productBody("Cross Origin Vase", "VASE-1", 3100, nil))
	const browser = "127.0.0.40" // a shopper of its own, with its own address budget

	preflight := func(origin string) *response {
		return c.do(call{Method: "OPTIONS", Path: "/api/products/" + p.ID, From: browser, Header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "PUT",
			"Access-Control-Request-Headers": "authorization,content-type,if-match"}})
	}
	for i := range 6 { // more than the address may send per hour
		r := preflight("https://shop.example")
		expect(t, r, 204)
		h := r.Header
		if h.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "PUT") ||
			h.Get("Access-Control-Allow-Headers") != "authorization,content-type,if-match" || h.Get("Access-Control-Allow-Credentials") != "" ||
			!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Fatalf("preflight %d from an allowed origin: %v", i+1, h)
		}
	}
	if h := preflight("https://app.brand.example").Header; h.Get("Access-Control-Allow-Origin") != "https://app.brand.example" {
		t.Fatalf("preflight from a subdomain of a wildcard origin: %v", h)
	}
	for _, evil := range []string{"https://evil.example", "https://shop.example.evil.example", "null"} {
		if h := preflight(evil).Header; h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Methods") != "" {
			t.Fatalf("preflight from %s was allowed: %v", evil, h)
		}
	}

	get := func() *response {
		return c.do(call{Method: "GET", Path: "/api/products/" + p.ID, From: browser, Header: map[string]string{"Origin": "https://shop.example"}})
	}
	r := expect(t, get(), 200)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("GET with Origin: %v", r.Header)
	}
	exposed := strings.ToLower(r.Header.Get("Access-Control-Expose-Headers"))
	for _, h := range []string{"etag", "location", "retry-after", "ratelimit", "ratelimit-policy", "x-request-id"} {
		if !strings.Contains(exposed, h) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", exposed, h)
		}
	}
	// A shared cache keeps one copy per origin and per caller.
	if vary := strings.Join(r.Header.Values("Vary"), ","); !strings.Contains(vary, "Origin") || !strings.Contains(vary, "Authorization") {
		t.Errorf("Vary = %q, want Origin and Authorization", vary)
	}
	// A browser can read the refusal too.
	for range 4 {
		get()
	}
	r = get()
	r.expectProblem(t, 429)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("429 without CORS headers: %v", r.Header)
	}
}

// TestNoCORSByDefault: without --cors-origins no response carries CORS
// headers, and a preflight is not answered as one.
func TestNoCORSByDefault(t *testing.T) {
	s := startServer(t, nil, "--data-dir", t.TempDir())
	r := s.do(call{Method: "OPTIONS", Path: "/api/categories", Header: map[string]string{
		"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}})
	if r.Status == http.StatusNoContent || r.Status == http.StatusOK {
		t.Fatalf("preflight answered %d without CORS configured", r.Status)
	}
	get := expect(t, s.do(call{Method: "GET", Path: "/api/categories", Header: map[string]string{"Origin": "https://shop.example"}}), 200)
	for _, resp := range []*response{r, get} {
		for name := range resp.Header {
			if strings.HasPrefix(name, "Access-Control-") {
				t.Errorf("header %s: %q without CORS configured", name, resp.Header.Get(name))
			}
		}
		if strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("Vary: Origin without CORS configured")
		}
	}
}
