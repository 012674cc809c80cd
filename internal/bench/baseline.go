package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// Bounds of the baseline server's fetch: it copies API responses, not files.
const (
	baselineMaxBody      = 32 << 20
	baselineFetchTimeout = 10 * time.Second
	baselineShutdown     = 5 * time.Second
)

// Which response header fields the baseline server sends with each body.
const (
	// BaselineBodyHeaders: only the fields that describe the body
	// (Content-Type, ETag, Cache-Control, Last-Modified, Vary).
	BaselineBodyHeaders = "body"
	// BaselineAllHeaders: every field Vitrine sent, with its value, but
	// Date and Content-Length, which net/http writes itself. What the
	// bare server then costs is the protocol's price of those fields.
	BaselineAllHeaders = "all"
)

// BaselineServer fetches each of urls once from a running Vitrine, then
// serves the same bytes (status, body, and the header fields headers
// names: BaselineBodyHeaders or BaselineAllHeaders) at the same paths on
// ln with a bare net/http handler, until ctx ends. It is the yardstick for
// Vitrine's cached GET handlers: load both with wrk or `vitrine bench
// --path` in the same run and the difference is what Vitrine's routing,
// middleware and cache cost; a second baseline with the other headers
// shows what the header fields themselves cost.
//
// It closes ln when it returns. Requests for paths it did not fetch answer
// 404; If-None-Match with the stored ETag answers 304, as Vitrine does.
func BaselineServer(ctx context.Context, ln net.Listener, urls []string, headers string, log io.Writer) error {
	defer ln.Close()
	h, err := fetchBaseline(ctx, urls, headers)
	if err != nil {
		return fmt.Errorf("baseline server: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(log, "baseline server: serving %d fetched responses with %s header fields on http://%s\n", len(h), headers, ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("baseline server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), baselineShutdown)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("baseline server: shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("baseline server: %w", err)
	}
	return nil
}

// baselineHandler serves stored responses by request URI (path and query);
// a stored URL without a query also answers its path with any query.
type baselineHandler map[string]storedResponse

type storedResponse struct {
	status int
	header http.Header // the fields it sends (net/http adds Date and Content-Length)
	body   []byte
}

// checkBaselineHeaders says what is wrong with headers, if anything.
func checkBaselineHeaders(headers string) error {
	if headers != BaselineBodyHeaders && headers != BaselineAllHeaders {
		return fmt.Errorf("%q: want %q or %q", headers, BaselineBodyHeaders, BaselineAllHeaders)
	}
	return nil
}

// bodyHeaders are the response headers BaselineBodyHeaders reproduces.
var bodyHeaders = []string{"Content-Type", "ETag", "Cache-Control", "Last-Modified", "Vary"}

func fetchBaseline(ctx context.Context, urls []string, headers string) (baselineHandler, error) {
	if err := checkBaselineHeaders(headers); err != nil {
		return nil, fmt.Errorf("headers %w", err)
	}
	client := newClient(1, baselineFetchTimeout, nil, nil) // no compression: store the bytes as sent
	defer client.CloseIdleConnections()
	h := baselineHandler{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--fetch-from %q: want an absolute http(s) URL", raw)
		}
		stored, err := fetchOne(ctx, client, u.String(), headers)
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %w", raw, err)
		}
		h[u.RequestURI()] = stored
	}
	return h, nil
}

func fetchOne(ctx context.Context, client *http.Client, u, headers string) (storedResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, baselineFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return storedResponse{}, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vitrine-bench")
	resp, err := client.Do(req)
	if err != nil {
		return storedResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, baselineMaxBody+1))
	if err != nil {
		return storedResponse{}, err
	}
	if len(body) > baselineMaxBody {
		return storedResponse{}, fmt.Errorf("body larger than %d bytes", baselineMaxBody)
	}
	s := storedResponse{status: resp.StatusCode, header: http.Header{}, body: body}
	if headers == BaselineAllHeaders {
		s.header = resp.Header.Clone()
		s.header.Del("Date")
		s.header.Del("Content-Length")
		return s, nil
	}
	for _, k := range bodyHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			s.header[http.CanonicalHeaderKey(k)] = v
		}
	}
	return s, nil
}

func (h baselineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s, ok := h[r.URL.RequestURI()]
	if !ok {
		s, ok = h[r.URL.EscapedPath()]
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	for k, v := range s.header {
		w.Header()[k] = v
	}
	if etag := s.header.Get("ETag"); etag != "" && httpx.NoneMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
	w.WriteHeader(s.status)
	if r.Method == http.MethodGet {
		w.Write(s.body)
	}
}
