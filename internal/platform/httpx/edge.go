package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Info is what the edge of the server learns about a request, shared by
// every layer that serves it. It lives in the request's context as a
// pointer, so what an inner layer records (the route the router matched)
// is seen by the outer ones (logging, metrics), even though each layer
// that adds to the context works on a copy of the request.
type Info struct {
	ID     string     // the request id, echoed in X-Request-ID
	Client netip.Addr // the client's address (see ClientIP); invalid when unknown
	Route  string     // the pattern of the route that served it; "" when none matched

	clientKey string    // ClientKey(Client), computed once when first asked
	idHeader  [1]string // the X-Request-ID header's value list, without an allocation of its own
	named     bool      // Router.Name has set Route
	cache     CacheOutcome
}

type ctxKey int

const infoKey ctxKey = iota

// InfoFrom returns the request's Info, or nil outside Edge.
func InfoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey).(*Info)
	return info
}

// RequestID returns the id of the request being served, or "".
func RequestID(ctx context.Context) string {
	if info := InfoFrom(ctx); info != nil {
		return info.ID
	}
	return ""
}

// ClientAddr returns the address of the client, as Edge found it.
func ClientAddr(ctx context.Context) (netip.Addr, bool) {
	if info := InfoFrom(ctx); info != nil && info.Client.IsValid() {
		return info.Client, true
	}
	return netip.Addr{}, false
}

// ClientKeyOf returns ClientKey of the client's address, as Edge found
// it, computing it once per request however many layers ask.
func ClientKeyOf(ctx context.Context) (string, bool) {
	info := InfoFrom(ctx)
	if info == nil || !info.Client.IsValid() {
		return "", false
	}
	if info.clientKey == "" {
		info.clientKey = ClientKey(info.Client)
	}
	return info.clientKey, true
}

// Route returns the pattern of the route that served r ("" when none
// matched), wherever in the chain it is asked.
func Route(r *http.Request) string {
	if info := InfoFrom(r.Context()); info != nil && info.Route != "" {
		return info.Route
	}
	return r.Pattern
}

// Edge starts every request: it gives it an id (the client's X-Request-ID
// when it is sane, a new one otherwise, echoed in the response), finds
// the client's address (believing X-Forwarded-For only from trusted
// proxies) and records both in the request's Info.
func Edge(trusted []netip.Prefix) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := &Info{}
			if v := r.Header["X-Request-Id"]; len(v) > 0 {
				info.ID = v[0]
			}
			if info.ID == "" || len(info.ID) > 64 || !printable(info.ID) {
				info.ID = newRequestID()
			}
			info.Client, _ = ClientIP(r, trusted)
			info.idHeader[0] = info.ID
			w.Header()["X-Request-Id"] = info.idHeader[:1:1]
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey, info)))
		})
	}
}

// Request ids are 16 hex digits: 8 drawn at random when the process
// starts, then a counter. They are unique within the process, and across
// processes but for a one in four billion chance, and cost no system call.
var (
	requestIDPrefix = func() [8]byte {
		var b [4]byte
		_, _ = rand.Read(b[:])
		var out [8]byte
		hex.Encode(out[:], b[:])
		return out
	}()
	requestIDCounter atomic.Uint32
)

func newRequestID() string {
	const digits = "0123456789abcdef"
	var b [16]byte
	copy(b[:8], requestIDPrefix[:])
	n := requestIDCounter.Add(1)
	for i := 15; i >= 8; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// printable reports whether s is printable ASCII without spaces, safe to
// echo in a header and to write in a log.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ClientIP returns the address of the client that sent r. It is the
// connection's peer, unless that peer is in trusted: then X-Forwarded-For
// is read from right to left (each proxy appends the address it saw), past
// the trusted proxies, to the first address that is not one. A client can
// write what it likes at the left of the header, but never past the hop
// that the first trusted proxy recorded. ok is false when RemoteAddr is
// not an address (e.g. a Unix socket).
func ClientIP(r *http.Request, trusted []netip.Prefix) (addr netip.Addr, ok bool) {
	addr, ok = parseHop(r.RemoteAddr)
	if !ok || !contains(trusted, addr) {
		return addr, ok
	}
	lines := r.Header.Values("X-Forwarded-For")
	for i := len(lines) - 1; i >= 0; i-- {
		hops := strings.Split(lines[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, ok := parseHop(hops[j])
			if !ok {
				return addr, true // a garbled hop: stop at the last one we could trust
			}
			addr = hop
			if !contains(trusted, addr) {
				return addr, true
			}
		}
	}
	return addr, true
}

// FromTrustedProxy reports whether r came straight from one of the
// trusted proxies, whose headers (X-Forwarded-For, and what else they set
// for the service) are believed.
func FromTrustedProxy(r *http.Request, trusted []netip.Prefix) bool {
	addr, ok := parseHop(r.RemoteAddr)
	return ok && contains(trusted, addr)
}

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes or
// bare addresses (a bare address stands for itself alone), e.g.
// "10.0.0.0/8, 192.168.1.7, fd00::/8": the proxies whose headers Edge and
// FromTrustedProxy believe.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("invalid trusted proxy %q: %w", part, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("invalid trusted proxy %q: %w", part, err)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientKey names a client address for limits and counts: the address
// itself, or its /64 for IPv6 (the block one subscriber usually holds).
func ClientKey(addr netip.Addr) string {
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

// parseHop reads "addr" or "addr:port" ("[v6]:port"), without zone.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
