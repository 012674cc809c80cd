// Package ratelimit limits request rates per client IP and per user with
// GCRA (the generic cell rate algorithm), the "leaky bucket as a meter".
//
// Two backends sit behind one interface: Memory, a bounded in-process
// limiter for the embedded shape, and Redis, which several instances share
// and which falls back to local limits when Redis is down or slow. The HTTP
// middleware answers 429 problems with Retry-After and the IETF RateLimit
// headers.
//
// GCRA keeps one timestamp per key, the theoretical arrival time (TAT) of
// the next request. A Limit of Rate per Period with Burst lets Burst
// requests through at once, then one every Period/Rate; a key that stays
// idle for Burst*Period/Rate is back to its full burst and holds no state.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limiter decides whether one more request under key fits limit.
//
// Allow returns an error only for an invalid limit; a backend that cannot
// reach its store answers from a local fallback instead.
type Limiter interface {
	Allow(ctx context.Context, key string, limit Limit) (Result, error)
}

// Limit is a sustained rate of Rate requests per Period, with bursts of up
// to Burst requests. Burst <= 0 means Burst = Rate. The zero Limit means
// "no limit" where a Config holds one.
//
// Its text form, read by ParseLimit and written by String, is
// "<rate>/<period>[:<burst>]".
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Result is the decision for one request.
type Result struct {
	// Allowed tells whether the request may proceed.
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long a denied caller must wait before its next
	// request can be allowed; zero when allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the key is back to its full burst.
	ResetAfter time.Duration
	// Limit is the limit applied, with Burst filled in.
	Limit Limit
}

// IsZero reports whether l is the zero Limit ("no limit").
func (l Limit) IsZero() bool { return l == Limit{} }

// normalized fills in the default burst and checks that l can be applied.
func (l Limit) normalized() (Limit, error) {
	if l.Burst <= 0 {
		l.Burst = l.Rate
	}
	if l.Rate <= 0 || l.Period <= 0 {
		return l, fmt.Errorf("ratelimit: invalid limit %d per %s: rate and period must be positive", l.Rate, l.Period)
	}
	interval := l.Period / time.Duration(l.Rate)
	if interval <= 0 {
		return l, fmt.Errorf("ratelimit: invalid limit %s: more than one request per nanosecond", l)
	}
	if int64(l.Burst) > math.MaxInt64/4/int64(interval) {
		return l, fmt.Errorf("ratelimit: invalid limit %s: burst too large", l)
	}
	return l, nil
}

// emission is the GCRA emission interval T = Period/Rate and the burst
// tolerance tau = T*Burst of a normalized limit.
func (l Limit) emission() (interval, tolerance int64) {
	interval = int64(l.Period) / int64(l.Rate)
	return interval, interval * int64(l.Burst)
}

// Validate reports whether l is the zero Limit or a limit that can be
// applied.
func (l Limit) Validate() error {
	if l.IsZero() {
		return nil
	}
	_, err := l.normalized()
	return err
}

var units = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// ParseLimit reads a limit written "<rate>/<period>[:<burst>]":
//
//	100/s        100 requests a second, bursts of 100
//	100/s:200    100 requests a second, bursts of 200
//	6000/m       6000 requests a minute
//	5/m:5        5 requests a minute, bursts of 5 (a login limit)
//	1000/h       1000 requests an hour
//	50/10s       50 requests every 10 seconds (any Go duration works)
//	off          no limit: the zero Limit
//
// The period is s, m, h or a Go duration ("10s", "1m30s"); rate and burst
// are positive integers; burst defaults to rate.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Limit{}, nil
	}
	bad := func(why string) (Limit, error) {
		return Limit{}, fmt.Errorf("ratelimit: invalid limit %q: %s (want <rate>/<period>[:<burst>], e.g. 100/s:200, or off)", s, why)
	}
	rateText, rest, ok := strings.Cut(s, "/")
	if !ok {
		return bad("no /")
	}
	periodText, burstText, hasBurst := strings.Cut(rest, ":")
	rate, err := strconv.Atoi(rateText)
	if err != nil || rate <= 0 {
		return bad("rate must be a positive integer")
	}
	period, ok := units[periodText]
	if !ok {
		if periodText == "" || periodText[0] < '0' || periodText[0] > '9' {
			return bad("period must be s, m, h or a duration like 10s")
		}
		period, err = time.ParseDuration(periodText)
		if err != nil || period <= 0 {
			return bad("period must be s, m, h or a positive duration like 10s")
		}
	}
	l := Limit{Rate: rate, Period: period, Burst: rate}
	if hasBurst {
		l.Burst, err = strconv.Atoi(burstText)
		if err != nil || l.Burst <= 0 {
			return bad("burst must be a positive integer")
		}
	}
	if _, err := l.normalized(); err != nil {
		return bad(err.Error())
	}
	return l, nil
}

// String writes l in the form ParseLimit reads.
func (l Limit) String() string {
	if l.IsZero() {
		return "off"
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(l.Rate))
	b.WriteByte('/')
	switch l.Period {
	case time.Second:
		b.WriteString("s")
	case time.Minute:
		b.WriteString("m")
	case time.Hour:
		b.WriteString("h")
	default:
		b.WriteString(l.Period.String())
	}
	if l.Burst > 0 && l.Burst != l.Rate {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(l.Burst))
	}
	return b.String()
}

// MarshalText writes l as String does.
func (l Limit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads l as ParseLimit does, so a Limit works with
// flag.TextVar and text-based configuration.
func (l *Limit) UnmarshalText(text []byte) error {
	parsed, err := ParseLimit(string(text))
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}
