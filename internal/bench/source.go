package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// maxSourceAddrs bounds --source-addrs: every address needs a connection
// of its own, and connections are bounded by --conns.
const maxSourceAddrs = maxConns

// loopback4 is where IPv4 source addresses may come from: load generated
// from them can only reach this machine.
var loopback4 = netip.MustParsePrefix("127.0.0.0/8")

// parseSourceAddrs reads --source-addrs: a comma list of loopback
// addresses and CIDR blocks (127.0.8.0/21 is 2,048 addresses). Anything
// outside 127.0.0.0/8 and ::1 is refused, so the load cannot be aimed
// elsewhere than at this machine. The network and broadcast addresses of
// 127.0.0.0/8 are left out of a block: the kernel does not use them as the
// source of a connection.
func parseSourceAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	add := func(a netip.Addr) error {
		if seen[a] {
			return nil
		}
		if len(out) == maxSourceAddrs {
			return fmt.Errorf("more than %d addresses", maxSourceAddrs)
		}
		seen[a] = true
		out = append(out, a)
		return nil
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or a CIDR block", part)
			}
			a = a.Unmap()
			if !isLoopbackSource(a) {
				return nil, fmt.Errorf("%s is not a loopback address (127.0.0.0/8 or ::1): load must only reach this machine", a)
			}
			if err := add(a); err != nil {
				return nil, err
			}
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or a CIDR block", part)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%s has bits set past its /%d: did you mean %s?", p, p.Bits(), p.Masked())
		}
		switch {
		case p.Addr().Is4() && loopback4.Bits() <= p.Bits() && loopback4.Contains(p.Addr()):
		case p.Addr() == netip.IPv6Loopback() && p.Bits() == 128:
		default:
			return nil, fmt.Errorf("%s is not inside 127.0.0.0/8 (or ::1/128): load must only reach this machine", p)
		}
		if size := 1 << (32 - p.Bits()); p.Addr().Is4() && size > maxSourceAddrs {
			return nil, fmt.Errorf("%s holds %d addresses, more than %d", p, size, maxSourceAddrs)
		}
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			if isLoopbackSource(a) {
				if err := add(a); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no address given")
	}
	for _, a := range out[1:] {
		if a.Is4() != out[0].Is4() {
			return nil, errors.New("mixes IPv4 and IPv6 addresses: a connection's source and target must be of one family")
		}
	}
	return out, nil
}

func isLoopbackSource(a netip.Addr) bool {
	if a == netip.IPv6Loopback() {
		return true
	}
	network, broadcast := loopback4.Addr(), netip.AddrFrom4([4]byte{127, 255, 255, 255})
	return a.Is4() && loopback4.Contains(a) && a != network && a != broadcast
}

// checkLoopbackTargets refuses targets a loopback source cannot reach, so a
// mistake shows up before the run rather than as a flood of dial errors.
func checkLoopbackTargets(urls []string, sources []netip.Addr) error {
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		host := u.Hostname()
		if host == "localhost" {
			continue
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Unmap().IsLoopback() {
			return fmt.Errorf("--source-addrs: target %s is not a loopback address: connections from loopback addresses only reach this machine", u.Host)
		}
		if a.Unmap().Is4() != sources[0].Is4() {
			return fmt.Errorf("--source-addrs: target %s and source %s are not of one address family", u.Host, sources[0])
		}
	}
	return nil
}

// clientPool is the load generator's HTTP clients: one for all users, or,
// with source addresses, one per address, each dialling from its address
// and holding its share of the connections. A user keeps one client, as a
// shopper keeps one address.
type clientPool struct {
	clients []*http.Client
	used    []atomic.Bool // a connection was dialled from this address
	nUsed   atomic.Int64
}

// newClientPool spreads conns connections (per host) evenly over sources;
// without sources, one client holds them all. len(sources) must not
// exceed conns.
func newClientPool(conns int, sources []netip.Addr, timeout time.Duration) *clientPool {
	if len(sources) == 0 {
		p := &clientPool{used: make([]atomic.Bool, 1)}
		p.clients = []*http.Client{newClient(conns, timeout, nil, func() { p.markUsed(0) })}
		return p
	}
	p := &clientPool{used: make([]atomic.Bool, len(sources))}
	for i, a := range sources {
		share := conns / len(sources)
		if i < conns%len(sources) {
			share++
		}
		local := &net.TCPAddr{IP: a.AsSlice()}
		p.clients = append(p.clients, newClient(share, timeout, local, func() { p.markUsed(i) }))
	}
	return p
}

func (p *clientPool) markUsed(i int) {
	if !p.used[i].Swap(true) {
		p.nUsed.Add(1)
	}
}

// forUser is the client of user (or worker) i.
func (p *clientPool) forUser(i int) *http.Client { return p.clients[i%len(p.clients)] }

// addrsUsed is how many source addresses a connection was dialled from.
func (p *clientPool) addrsUsed() int { return int(p.nUsed.Load()) }

func (p *clientPool) closeIdle() {
	for _, c := range p.clients {
		c.CloseIdleConnections()
	}
}

// dialFrom wraps a dialer's DialContext to note each connection made
// (dialled may be nil).
func dialFrom(d *net.Dialer, dialled func()) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil && dialled != nil {
			dialled()
		}
		return c, err
	}
}
