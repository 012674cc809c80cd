// Package redisclient makes the Redis client a process shares (the L2
// cache, the rate limits, the login throttle) from a URL: one server, or
// the primary that Redis Sentinel watches, followed across failovers.
//
// A Sentinel URL is go-redis's failover form, told apart by its
// master_name parameter: the first Sentinel as the URL's host, the
// others as addr parameters, the database as its path:
//
//	redis://127.0.1.1:26379/0?master_name=vitrine&addr=127.0.2.1:26379&addr=127.0.3.1:26379
//
// The client asks a Sentinel where the primary is for every connection it
// opens, and drops its connections to the old primary when a Sentinel
// announces a new one. Every call has short deadlines, so that a primary
// that stops answering (frozen, its zone cut off: its port may still
// accept connections) costs a request at most those deadlines, never a
// hang, while the Sentinels promote a replica.
package redisclient

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// The deadlines a URL does not set itself. Redis answers in well under a
// millisecond: one that has not answered within these is away, and the
// cache and the rate limiter fall back to memory rather than wait.
const (
	DialTimeout  = 200 * time.Millisecond
	ReadTimeout  = 100 * time.Millisecond
	WriteTimeout = 100 * time.Millisecond
	// PoolTimeout bounds the wait for a free connection when all are busy.
	PoolTimeout = 100 * time.Millisecond
)

// New returns a client of the Redis rawURL names: a failover client when
// the URL has a master_name parameter (a Sentinel URL), else a client of
// the one server. It does not connect yet. Its errors never quote the
// URL, which may hold a password.
func New(rawURL string) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("redis: the URL does not parse")
	}
	if u.Query().Has("master_name") {
		opts, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: Sentinel URL: %w", err)
		}
		if opts.MasterName == "" {
			return nil, errors.New("redis: Sentinel URL: master_name is empty")
		}
		setDeadlines(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout)
		opts.MaxRetries, opts.DialerRetries, opts.ContextTimeoutEnabled = noRetries, 1, true
		return redis.NewFailoverClient(opts), nil
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	setDeadlines(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout)
	opts.MaxRetries, opts.DialerRetries, opts.ContextTimeoutEnabled = noRetries, 1, true
	return redis.NewClient(opts), nil
}

// noRetries turns go-redis's retries off (0 would mean its default of 3).
// A failed call is not repeated, nor is a failed dial: the callers fall
// back (to memory, to the database) at once, within their own deadline,
// and a command that failed may have been applied. The next call uses a
// new connection, to the primary the Sentinels name by then.
const noRetries = -1

// setDeadlines gives each deadline the URL left unset its default.
func setDeadlines(dial, read, write, pool *time.Duration) {
	for _, d := range []struct {
		field *time.Duration
		def   time.Duration
	}{{dial, DialTimeout}, {read, ReadTimeout}, {write, WriteTimeout}, {pool, PoolTimeout}} {
		if *d.field == 0 {
			*d.field = d.def
		}
	}
}
