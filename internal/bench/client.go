package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// newClient returns the one HTTP client every simulated user shares, the
// way users behind a load balancer share its connections: at most conns
// connections per host, all of them kept idle between requests so the run
// measures the server rather than TCP handshakes.
//
// Compression is off: the bench and the baseline server then compare the
// same bytes on the wire.
//
// local, when set, is the address connections are made from; dialled is
// called for each connection made.
func newClient(conns int, timeout time.Duration, local *net.TCPAddr, dialled func()) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if local != nil {
		dialer.LocalAddr = local
	}
	tr := &http.Transport{
		Proxy:                 nil, // load goes to the target, never through a proxy from the environment
		DialContext:           dialFrom(dialer, dialled),
		MaxConnsPerHost:       conns,
		MaxIdleConnsPerHost:   conns,
		MaxIdleConns:          0, // no global cap: per-host caps bound it
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
	return &http.Client{Transport: tr}
}

// call is one request a workload wants sent.
type call struct {
	label        int
	method       string
	url          string
	body         []byte // JSON request body, nil for GET
	token        string // bearer token, if the session has one
	listing      bool   // a product listing: remember its next_cursor
	tokens       bool   // a login or refresh: keep the tokens it answers, or forget them if it fails
	prelude      bool   // sent before the user's action in the same turn (a token refresh)
	sessionStart bool   // the first call of a session
	hot          bool   // a read of the product the writer changes: keep its ETag
}

// send performs c for session s and reports what became of it. The
// response body is read to the end, so the connection is reused and the
// latency runs to the last byte.
func send(ctx context.Context, client *http.Client, c call, s *session, timeout time.Duration) (status int, err error) {
	if c.tokens && s != nil {
		// Whatever the outcome, the tokens the session held are spent: a
		// refresh token is single use, and a failed login leaves none.
		s.access, s.refresh = "", ""
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vitrine-bench")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if c.hot && s != nil {
		s.etag = resp.Header.Get("ETag")
	}
	if c.listing && s != nil && resp.StatusCode == http.StatusOK {
		buf := pageBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		_, err := buf.ReadFrom(resp.Body)
		if err == nil {
			s.cursor, err = nextCursor(buf.Bytes())
		}
		pageBuffers.Put(buf)
		if err != nil {
			return 0, err
		}
	}
	if c.tokens && s != nil && resp.StatusCode == http.StatusOK {
		var t struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			ExpiresIn    int64  `json:"expires_in"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
			return 0, err
		}
		s.access, s.refresh = t.AccessToken, t.RefreshToken
		s.refreshAt = time.Now().Add(100 * 365 * 24 * time.Hour) // no lifetime given: keep the token
		if lifetime := time.Duration(t.ExpiresIn) * time.Second; lifetime > 0 {
			s.refreshAt = time.Now().Add(lifetime - refreshMargin(lifetime))
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// pageBuffers hold listing pages while their cursor is read.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// nextCursor returns the next_cursor of a listing page ("" when it has
// none) without decoding the page: decoding 20 items to find one field
// cost the generator more CPU than the server spent answering. Vitrine
// writes the field after the items, at the top level, so it is the last
// occurrence of the key; the same bytes inside a string value would have
// their quotes escaped. The page must be a JSON object and the cursor a
// JSON string or null.
func nextCursor(page []byte) (string, error) {
	page = bytes.TrimSpace(page)
	if len(page) < 2 || page[0] != '{' || page[len(page)-1] != '}' {
		return "", errors.New("listing: the page is not a JSON object")
	}
	const key = `"next_cursor":`
	i := bytes.LastIndex(page, []byte(key))
	if i < 0 {
		return "", nil
	}
	rest := bytes.TrimLeft(page[i+len(key):], " \t\r\n")
	if bytes.HasPrefix(rest, []byte("null")) {
		return "", nil
	}
	var cursor string
	if err := json.NewDecoder(bytes.NewReader(rest)).Decode(&cursor); err != nil {
		return "", fmt.Errorf("listing: next_cursor: %w", err)
	}
	return cursor, nil
}

// errorKind sorts a failed exchange into a few kinds an operator can act on.
func errorKind(err error) string {
	var netErr net.Error
	var dnsErr *net.DNSError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too_many_open_files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "address_not_available" // out of ephemeral ports
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr):
		return "bad_response_body"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "other"
}
