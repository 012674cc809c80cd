package sqldb

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// What bounds a PostgreSQL server that stops answering. A frozen server
// (its process stopped, or its zone cut off) is the hard case: its port
// may still accept connections and its kernel still acknowledges what is
// sent, so nothing fails by itself. Three bounds keep it from holding a
// caller:
//
//   - each connection attempt, per host of a multi-host URL, gives up
//     after the URL's connect_timeout, DefaultConnectTimeout when it sets
//     none, and the next host is tried;
//   - a pooled connection idle for more than a second is pinged before
//     it is used, within checkoutPingTimeout, and dropped if the ping
//     fails (database/sql then takes another or opens a new one);
//   - every query runs within its context's deadline (a request's, the
//     outbox relay's), after which the connection is closed.
//
// TCP keep-alives and TCP_USER_TIMEOUT (Linux) also drop a connection
// whose peer has vanished from the network; they cannot see a frozen
// process, whose kernel still answers for it.
const (
	DefaultConnectTimeout = 2 * time.Second
	checkoutPingTimeout   = 2 * time.Second
	// keepAliveIdle, keepAliveInterval and keepAliveCount declare a silent
	// peer gone after about 20 s; userTimeout drops a connection whose sent
	// data stays unacknowledged for 15 s.
	keepAliveIdle     = 5 * time.Second
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
	userTimeout       = 15 * time.Second
)

// boundConnects gives c the connect timeout and the dialer above.
func boundConnects(c *pgconn.Config) {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	d := &net.Dialer{
		Timeout: c.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepAliveIdle,
			Interval: keepAliveInterval, Count: keepAliveCount},
		Control: setUserTimeout,
	}
	c.DialFunc = d.DialContext
}

// pingOnCheckout is the pool's check of a connection it is about to hand
// out. pgx's own pings one idle for over a second, with the caller's
// context, which may have no deadline: on a frozen server it would wait
// forever. This one pings within checkoutPingTimeout; a failed ping has
// closed the connection, and answering true lets pgx find it closed and
// report it bad.
func pingOnCheckout(ctx context.Context, p stdlib.ShouldPingParams) bool {
	if p.IdleDuration <= time.Second {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, checkoutPingTimeout)
	defer cancel()
	return p.Conn.PgConn().Ping(ctx) != nil
}

// poolOptions are the options of every pool of c.
func poolOptions(c *pgx.ConnConfig) []stdlib.OptionOpenDB {
	opts := []stdlib.OptionOpenDB{stdlib.OptionShouldPing(pingOnCheckout)}
	if len(c.Fallbacks) > 0 && c.ValidateConnect != nil {
		h := new(lastHost)
		opts = append(opts, stdlib.OptionBeforeConnect(h.first), stdlib.OptionAfterConnect(h.note))
	}
	return opts
}

// lastHost starts each new connection of a pool at the host that took
// the last one. pgx tries a multi-host URL's hosts in order, each for up
// to the connect timeout: once the first host is frozen and another was
// promoted, every new connection would wait that long before reaching
// it. Only pools that ask for a kind of server (the primary) remember:
// the pool that takes any host keeps the URL's order, its own zone's
// server first, rather than stick to one that may be the next to freeze.
// A host is recognised by its address, so URLs that name hosts by IP
// address benefit; names keep the URL's order.
type lastHost struct{ addr atomic.Pointer[string] }

func (h *lastHost) first(_ context.Context, c *pgx.ConnConfig) error {
	last := h.addr.Load()
	if last == nil {
		return nil
	}
	// Fallbacks is shared with the pool's config: build a new list.
	hosts := append([]*pgconn.FallbackConfig{{Host: c.Host, Port: c.Port, TLSConfig: c.TLSConfig}}, c.Fallbacks...)
	isLast := func(f *pgconn.FallbackConfig) bool {
		return net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port))) == *last
	}
	slices.SortStableFunc(hosts, func(a, b *pgconn.FallbackConfig) int {
		switch {
		case isLast(a) && !isLast(b):
			return -1
		case isLast(b) && !isLast(a):
			return 1
		}
		return 0
	})
	c.Host, c.Port, c.TLSConfig, c.Fallbacks = hosts[0].Host, hosts[0].Port, hosts[0].TLSConfig, hosts[1:]
	return nil
}

func (h *lastHost) note(_ context.Context, c *pgx.Conn) error {
	addr := c.PgConn().Conn().RemoteAddr().String()
	h.addr.Store(&addr)
	return nil
}
