package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

var (
	listening      = regexp.MustCompile(`listening on (http://\S+)`)
	adminListening = regexp.MustCompile(`admin on (http://\S+)`)
)

// server is a Vitrine started through run(), as a user would start it.
type server struct {
	t        testing.TB
	URL      string
	AdminURL string // set when started with --admin-addr
	stop     context.CancelFunc
	done     chan error
	stderr   *testwait.Buffer
}

// startServer runs "vitrine serve" with args on a free port and waits for
// /healthz. The server stops, and must stop cleanly, when the test ends.
func startServer(t testing.TB, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &testwait.Buffer{}, &testwait.Buffer{}
	s := &server{t: t, stop: cancel, done: make(chan error, 1), stderr: stderr}
	getenv := func(k string) string { return env[k] }
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, stdout, stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for s.URL == "" {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			s.URL = m[1]
			if m := adminListening.FindStringSubmatch(stdout.String()); m != nil {
				s.AdminURL = m[1] // printed before the public address
			}
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("vitrine serve exited: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("vitrine serve did not start:\n%s", stderr.String())
		}
	}
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vitrine never became healthy: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("vitrine serve did not stop cleanly: %v\n%s", err, stderr.String())
		}
	})
	return s
}

// Stop cancels the server (as SIGTERM does) and waits for run to return.
func (s *server) Stop() error {
	s.stop()
	select {
	case err, ok := <-s.done:
		if !ok {
			return nil
		}
		close(s.done)
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("timed out")
	}
}

// runCommand runs another vitrine command (user create, seed...).
func runCommand(t testing.TB, env map[string]string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr); err != nil {
		t.Fatalf("vitrine %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// response is what a client saw.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes an RFC 9457 body, checking its media type.
func (r *response) Problem(t testing.TB) problemBody {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p problemBody
	r.JSON(t, &p)
	if p.Status != r.Status || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, r.Status)
	}
	return p
}

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

func (p problemBody) HasField(field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// call is one request of a test, described as a user would.
type call struct {
	Method, Path, Token, ContentType string
	Body                             any // string, []byte or a value to encode
	Header                           map[string]string
	From                             string // the client's loopback address (127.0.0.x); default 127.0.0.1
}

// clientFrom returns a client whose connections leave from the loopback
// address ip, so that a test can play several clients.
func clientFrom(ip string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}, Timeout: 30 * time.Second}
}

// metrics returns the Prometheus metrics from the admin address.
func (s *server) metrics() string {
	s.t.Helper()
	if s.AdminURL == "" {
		s.t.Fatal("the server has no admin address: start it with --admin-addr 127.0.0.1:0")
	}
	resp, err := http.Get(s.AdminURL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s/metrics: %d %v", s.AdminURL, resp.StatusCode, err)
	}
	return string(body)
}

// do sends c and records the route and status for the OpenAPI check.
func (s *server) do(c call) *response {
	s.t.Helper()
	r, err := s.tryDo(c)
	if err != nil {
		s.t.Fatalf("%s %s: %v", c.Method, c.Path, err)
	}
	return r
}

// tryDo is do for a server that may be gone: transport errors are returned.
func (s *server) tryDo(c call) (*response, error) {
	s.t.Helper()
	var body io.Reader
	switch b := c.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		body = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(c.Method, s.URL+c.Path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		ct := c.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	client := http.DefaultClient
	if c.From != "" {
		client = clientFrom(c.From)
		defer client.CloseIdleConnections()
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	// The router's own 404 (no route) and 405 answers, and CORS
	// preflights, are the same for every path: they are no operation's.
	// Nor are the console's page and assets, which are not the API.
	console := c.Path == "/" || strings.HasPrefix(c.Path, "/assets/")
	operation := !bytes.Contains(data, []byte(`"detail":"no route for`)) &&
		resp.StatusCode != http.StatusMethodNotAllowed && c.Method != http.MethodOptions && !console
	if operation {
		if err := checkAgainstContract(req, resp, data); err != nil {
			s.t.Errorf("%s %s answered %d, which api/openapi.json does not allow: %v\n%s", c.Method, c.Path, resp.StatusCode, err, data)
		}
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

func (s *server) get(path, token string) *response {
	s.t.Helper()
	return s.do(call{Method: http.MethodGet, Path: path, Token: token})
}

// expect fails the test unless r has the wanted status.
func expect(t testing.TB, r *response, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}
