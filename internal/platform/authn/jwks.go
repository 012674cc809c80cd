package authn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/vitrine-dev/vitrine/internal/platform/resilience"
)

// JWKSRefreshInterval is how often RemoteKeyfunc refetches the key set even
// when every kid it meets is known. The auth service publishes a new key
// longer than this (plus the JWKS max-age) before signing with it, so
// verifiers rarely meet an unknown kid.
const JWKSRefreshInterval = time.Minute

// RemoteKeyfunc returns a keyfunc, for NewVerifier, that finds keys in the
// JSON Web Key Set served at jwksURL: what a process running without the
// auth service uses. The set is fetched now, again every
// JWKSRefreshInterval, and when a token names a kid the cache lacks (at most
// once a second; a caller waits at most a few seconds for its turn, so
// tokens with forged kids cannot queue without bound). A failed first fetch
// is logged, not returned, so a service may start before auth does; the
// next unknown kid retries. Failed fetches are logged to logger
// (slog.Default() when nil). The background refresh stops when ctx ends.
//
// Each fetch goes through the breaker "auth-jwks" of breakers (a set with
// the default policy when nil), within its deadline, and a failed fetch is
// tried again twice with jitter (a GET is safe to repeat). While the auth
// service is down the breaker opens: verifiers keep the keys they know and
// stop asking until it is time to try again.
//
// The key set decides whose tokens are believed, so it is fetched with
// care: a redirect is refused rather than followed (a compromised or
// misrouted answer must not point the verifier at keys of someone else's
// choosing), and a body over MaxJWKSBytes is an error, not a memory bill.
func RemoteKeyfunc(ctx context.Context, jwksURL string, logger *slog.Logger, breakers *resilience.Breakers) (jwt.Keyfunc, error) {
	const timeout = 5 * time.Second
	if logger == nil {
		logger = slog.Default()
	}
	if breakers == nil {
		breakers = resilience.NewBreakers(resilience.DefaultPolicy(), logger)
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{
		Client: &http.Client{
			Timeout: timeout,
			Transport: guardedTransport{
				next:    maxBodyTransport{next: http.DefaultTransport, max: MaxJWKSBytes},
				breaker: breakers.Breaker("auth-jwks"),
			},
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				return fmt.Errorf("%w to %s", ErrJWKSRedirect, req.URL.Redacted())
			},
		},
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.ErrorContext(ctx, "authn: could not fetch the JWKS; keeping the keys already known", "url", u, "err", err)
			}
		},
		HTTPTimeout:       timeout,
		RefreshInterval:   JWKSRefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Second), 1),
		// Bounds both the wait for the limiter and the refetch after it.
		RateLimitWaitMax: 3 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("authn: JWKS at %s: %w", jwksURL, err)
	}
	lookup := kf.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		// Without a kid, keyfunc would try every key in the set; our tokens
		// always name theirs.
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, errors.New("token has no kid")
		}
		key, err := lookup(t)
		if errors.Is(err, jwkset.ErrKeyNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
		}
		return key, err
	}, nil
}

// MaxJWKSBytes bounds the key set RemoteKeyfunc reads. Vitrine publishes a
// few keys of a few hundred bytes each.
const MaxJWKSBytes = 1 << 20

// Errors of fetching a key set.
var (
	ErrJWKSRedirect = errors.New("authn: the JWKS endpoint redirected; redirects are not followed")
	ErrJWKSTooLarge = fmt.Errorf("authn: the JWKS is larger than %d bytes", MaxJWKSBytes)
)

// guardedTransport fetches through a breaker, reading the (small) body
// whole within the breaker's deadline, and tries a failed GET again with
// jitter. An answer of 500 or more is a failure of the remote side.
type guardedTransport struct {
	next    http.RoundTripper
	breaker *resilience.Breaker
}

func (t guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts := 1
	if req.Method == http.MethodGet {
		attempts = 3
	}
	var res *http.Response
	err := resilience.Retry(req.Context(), attempts, 200*time.Millisecond, func(ctx context.Context) error {
		return t.breaker.Do(ctx, func(ctx context.Context) error {
			r, err := t.next.RoundTrip(req.Clone(ctx))
			if err != nil {
				return err
			}
			defer r.Body.Close()
			body, err := io.ReadAll(r.Body)
			switch {
			case errors.Is(err, ErrJWKSTooLarge):
				return resilience.Permanent(err)
			case err != nil:
				return err
			case r.StatusCode >= 500:
				return fmt.Errorf("authn: %s answered %s", req.URL.Redacted(), r.Status)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			res = r
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// maxBodyTransport fails the reading of a response body past max bytes.
type maxBodyTransport struct {
	next http.RoundTripper
	max  int64
}

func (t maxBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.ContentLength > t.max {
		res.Body.Close()
		return nil, ErrJWKSTooLarge
	}
	res.Body = &maxBodyReader{ReadCloser: res.Body, left: t.max}
	return res, nil
}

// maxBodyReader errs, rather than stopping short, once more than left
// bytes come: a truncated key set must not pass for a whole one.
type maxBodyReader struct {
	io.ReadCloser
	left int64
}

func (r *maxBodyReader) Read(p []byte) (int, error) {
	if r.left < 0 {
		return 0, ErrJWKSTooLarge
	}
	if int64(len(p)) > r.left+1 {
		p = p[:r.left+1]
	}
	n, err := r.ReadCloser.Read(p)
	r.left -= int64(n)
	if r.left < 0 {
		return 0, ErrJWKSTooLarge
	}
	return n, err
}

// CheckAuthURL checks the base URL of the auth service, whose key set
// decides which tokens are believed: https, or plain http only to a
// loopback address (127.0.0.0/8, ::1, localhost) where nobody sits on the
// wire, unless insecure says the operator accepts the risk; no user
// information, which would end up in logs; no query or fragment.
func CheckAuthURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with https:// (or http:// to a loopback address)", u.Redacted())
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q names no host", u.Redacted())
	case u.User != nil:
		return fmt.Errorf("%q must not carry a user name or password", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must be a base URL, without query or fragment", u.Redacted())
	case u.Scheme == "http" && !insecure && !isLoopback(u.Hostname()):
		return fmt.Errorf("%q is plain http to a host that is not loopback: anyone on the path could swap the signing keys; use https, or --auth-url-insecure to accept that", u.Redacted())
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
