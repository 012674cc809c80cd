package ratelimit

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/authn"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// Config says which limits the middleware applies. A zero Limit turns that
// limit off.
type Config struct {
	// PerIP limits every request per client IP (IPv6 clients per /64,
	// the block one subscriber usually holds), signed in or not: it is
	// applied before tokens are verified (ByAddress).
	PerIP Limit
	// PerUser limits authenticated requests per user id (or service
	// credential id), on top of PerIP (ByUser).
	PerUser Limit
	// Login limits POST requests to LoginPaths per client IP and path, on
	// top of PerIP or PerUser, against password guessing and mass sign-up.
	Login      Limit
	LoginPaths []string
	// Exempt paths are never limited (health checks).
	Exempt []string
}

// DefaultConfig returns the limits Vitrine runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		PerIP:      Limit{Rate: 50, Period: time.Second, Burst: 100},
		PerUser:    Limit{Rate: 100, Period: time.Second, Burst: 200},
		Login:      Limit{Rate: 5, Period: time.Minute, Burst: 5},
		LoginPaths: []string{"/api/auth/login", "/api/auth/register"},
		Exempt:     []string{"/healthz", "/readyz"},
	}
}

// RegisterFlags sets c to DefaultConfig and lets the --rate-limit-* flags
// change its limits.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	*c = DefaultConfig()
	f.TextVar(&c.PerIP, "rate-limit-ip", c.PerIP, "requests per client IP, signed in or not (checked before tokens), as `RATE/PERIOD[:BURST]` (e.g. 50/s:100), or off")
	f.TextVar(&c.PerUser, "rate-limit-user", c.PerUser, "requests per signed-in user, on top of the per-IP limit, as `RATE/PERIOD[:BURST]`, or off")
	f.TextVar(&c.Login, "rate-limit-login", c.Login, "login and register attempts per client IP, as `RATE/PERIOD[:BURST]`, or off")
}

// Validate reports whether every limit can be applied, naming the flag
// of each that cannot.
func (c Config) Validate() error {
	var errs []error
	for _, l := range []struct {
		flag  string
		limit Limit
	}{{"rate-limit-ip", c.PerIP}, {"rate-limit-user", c.PerUser}, {"rate-limit-login", c.Login}} {
		if err := l.limit.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", l.flag, err))
		}
	}
	return errors.Join(errs...)
}

// Policy names, as they appear in the RateLimit headers.
const (
	policyIP    = "ip"
	policyUser  = "user"
	policyLogin = "login"
)

type check struct {
	policy string
	key    string
	limit  Limit
	member *member
}

// member is a policy's list member in RateLimit-Policy, written once when
// the stage is built, with the header's value list when it is the only one.
type member struct {
	text   string   // "ip";q=50;w=1
	header []string // {text}, shared by every response
}

func newMember(policy string, l Limit) *member {
	if l.IsZero() {
		return nil
	}
	quota, window := quotaWindow(l)
	b := strconv.AppendQuote(nil, policy)
	b = append(b, ";q="...)
	b = strconv.AppendInt(b, quota, 10)
	b = append(b, ";w="...)
	b = strconv.AppendInt(b, window, 10)
	return &member{text: string(b), header: httpx.HeaderValue(string(b))}
}

// checks are the checks of one request, at most two, held by value so
// that they need no allocation.
type checks struct {
	items [2]check
	n     int
}

func (c *checks) add(ch check) { c.items[c.n] = ch; c.n++ }

type outcome struct {
	check check
	res   Result
}

// ByAddress is the first stage of rate limiting, for the start of the
// chain, before anything costly (reading the body, verifying a token):
// every request counts against its client address with cfg.PerIP, and a
// POST to cfg.LoginPaths also against that address and path with
// cfg.Login; the client address is the one httpx.Edge, before it, found.
// An address that floods requests, with tokens valid or not,
// is refused here without a signature check. Signed-in users therefore
// share their address's budget with everyone behind it (a NAT) as well as
// having their own (ByUser).
//
// Every limited response carries the RateLimit-Policy and RateLimit headers
// of draft-ietf-httpapi-ratelimit-headers; a denied request gets a 429
// problem with Retry-After. When l fails (an invalid limit), the request
// is let through and the failure logged at most once a minute.
//
// ByAddress panics when cfg does not Validate.
func ByAddress(l Limiter, cfg Config, logger *slog.Logger) httpx.Middleware {
	loginPaths := setOf(cfg.LoginPaths)
	login, perIP := newMember(policyLogin, cfg.Login), newMember(policyIP, cfg.PerIP)
	return stage(l, cfg, logger, "ByAddress", func(r *http.Request) (cs checks) {
		if cfg.PerIP.IsZero() && cfg.Login.IsZero() {
			return cs
		}
		ip := clientKey(r)
		if !cfg.Login.IsZero() && r.Method == http.MethodPost && loginPaths[r.URL.Path] {
			cs.add(check{policyLogin, "login:" + ip + ":" + r.URL.Path, cfg.Login, login})
		}
		if !cfg.PerIP.IsZero() {
			cs.add(check{policyIP, "ip:" + ip, cfg.PerIP, perIP})
		}
		return cs
	})
}

// ByUser is the second stage, after authentication (authn.Authenticate):
// a signed-in caller counts against its user id with cfg.PerUser, so one
// account cannot spend the budget of a whole address, wherever it calls
// from. Its RateLimit headers add to those of ByAddress. It panics when
// cfg does not Validate.
func ByUser(l Limiter, cfg Config, logger *slog.Logger) httpx.Middleware {
	user := newMember(policyUser, cfg.PerUser)
	return stage(l, cfg, logger, "ByUser", func(r *http.Request) (cs checks) {
		if cfg.PerUser.IsZero() {
			return cs
		}
		p, _ := authn.FromContext(r.Context())
		switch {
		case p.UserID != "":
			cs.add(check{policyUser, "user:" + p.UserID, cfg.PerUser, user})
		case p.CredentialID != "":
			// A service credential is limited like a user, by its own id:
			// it gets no more than a user does, wherever it calls from.
			cs.add(check{policyUser, "credential:" + p.CredentialID, cfg.PerUser, user})
		}
		return cs
	})
}

// stage applies the checks a request calls for, in order, up to the first
// denial.
func stage(l Limiter, cfg Config, logger *slog.Logger, name string, checksFor func(*http.Request) checks) httpx.Middleware {
	if err := cfg.Validate(); err != nil {
		panic("ratelimit." + name + ": " + err.Error())
	}
	if logger == nil {
		logger = slog.Default()
	}
	exempt := setOf(cfg.Exempt)
	quiet := &logSampler{every: time.Minute}

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if exempt[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			cs := checksFor(r)
			if cs.n == 0 {
				next.ServeHTTP(w, r)
				return
			}
			var outcomeBuf [2]outcome
			outcomes := outcomeBuf[:0]
			denied := false
			for i := range cs.n {
				c := cs.items[i]
				res, err := l.Allow(r.Context(), c.key, c.limit)
				if err != nil {
					if unlogged, ok := quiet.allow(); ok {
						logger.LogAttrs(r.Context(), slog.LevelError, "rate limiter failed; request let through",
							slog.String("policy", c.policy), slog.String("err", err.Error()),
							slog.Int64("unlogged_since_last", unlogged))
					}
					continue
				}
				outcomes = append(outcomes, outcome{c, res})
				if !res.Allowed {
					denied = true
					break
				}
			}
			addHeaders(w.Header(), outcomes)
			if denied {
				last := outcomes[len(outcomes)-1]
				deny(w, r, logger, last.res, last.check.policy)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func deny(w http.ResponseWriter, r *http.Request, logger *slog.Logger, res Result, policy string) {
	retry := httpx.RetryAfter(res.RetryAfter)
	if logger.Enabled(r.Context(), slog.LevelDebug) {
		logger.LogAttrs(r.Context(), slog.LevelDebug, "rate limited",
			slog.String("policy", policy), slog.String("path", r.URL.Path),
			slog.String("retry_after", res.RetryAfter.String()), slog.String("request_id", httpx.RequestID(r.Context())))
	}
	w.Header().Set("Retry-After", retry)
	httpx.WriteProblem(w, r, httpx.Problem{
		Status: http.StatusTooManyRequests,
		Detail: "too many requests; retry in " + retry + " s",
	})
}

// addHeaders adds to the RateLimit-Policy and RateLimit fields one list
// member per policy applied, after those of an earlier stage, e.g.
//
//	RateLimit-Policy: "login";q=5;w=60, "ip";q=50;w=1
//	RateLimit: "login";r=4;t=12, "ip";r=99;t=1
func addHeaders(h http.Header, outcomes []outcome) {
	if len(outcomes) == 0 {
		return
	}
	var prevPolicy, prevState string
	if v := h["Ratelimit-Policy"]; len(v) > 0 {
		prevPolicy = v[0]
	}
	if v := h["Ratelimit"]; len(v) > 0 {
		prevState = v[0]
	}
	var buf [128]byte
	state := append(buf[:0], prevState...)
	for i, o := range outcomes {
		if i > 0 || len(state) > 0 {
			state = append(state, ", "...)
		}
		state = strconv.AppendQuote(state, o.check.policy)
		state = append(state, ";r="...)
		state = strconv.AppendInt(state, int64(max(o.res.Remaining, 0)), 10)
		state = append(state, ";t="...)
		state = strconv.AppendInt(state, ceilSeconds(o.res.ResetAfter), 10)
	}
	if m := outcomes[0].check.member; prevPolicy == "" && len(outcomes) == 1 && m != nil {
		h["Ratelimit-Policy"] = m.header
	} else {
		policy := make([]byte, 0, len(prevPolicy)+32*len(outcomes))
		policy = append(policy, prevPolicy...)
		for _, o := range outcomes {
			if len(policy) > 0 {
				policy = append(policy, ", "...)
			}
			policy = append(policy, o.memberText()...)
		}
		h["Ratelimit-Policy"] = []string{string(policy)}
	}
	h["Ratelimit"] = []string{string(state)}
}

// memberText is the outcome's RateLimit-Policy member, written from the
// limit applied when the check has none built in advance.
func (o outcome) memberText() string {
	if o.check.member != nil {
		return o.check.member.text
	}
	return newMember(o.check.policy, o.res.Limit).text
}

// quotaWindow expresses l as a quota per whole number of seconds: 5/m is
// q=5;w=60, and a sub-second period is scaled to one second.
func quotaWindow(l Limit) (quota, window int64) {
	window = max(ceilSeconds(l.Period), 1)
	quota = (int64(l.Rate)*window*int64(time.Second) + int64(l.Period)/2) / int64(l.Period)
	return quota, window
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// clientKey names the client of r for limiting, IPv6 by /64: the address
// httpx.Edge found (which decides whose X-Forwarded-For to believe), or
// else the connection's peer.
func clientKey(r *http.Request) string {
	if key, ok := httpx.ClientKeyOf(r.Context()); ok {
		return key
	}
	addr, ok := httpx.ClientIP(r, nil)
	if !ok {
		return r.RemoteAddr
	}
	return httpx.ClientKey(addr)
}

func setOf(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// compile-time checks that both backends are Limiters.
var (
	_ Limiter = (*Memory)(nil)
	_ Limiter = (*Redis)(nil)
)
