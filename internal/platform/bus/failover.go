package bus

import (
	"time"

	"github.com/nats-io/nats.go"
)

// How the connection to a NATS cluster notices a server that stopped
// answering and moves to another. A frozen server (its process stopped,
// its zone cut off) keeps its socket open and says nothing, so only the
// client's pings find it out: one every pingInterval, and the connection
// is declared stale, and replaced by one to another server of the URL
// list (or of those the cluster advertises), when maxPingsOut go
// unanswered: within (maxPingsOut+1) × pingInterval, 4 s. NATS's defaults
// (2 min, 2) would take up to 6 min.
const (
	pingInterval = time.Second
	maxPingsOut  = 3
	// connectTimeout bounds one attempt to connect to one server; a
	// server that accepts and never answers is passed over after it.
	connectTimeout = 2 * time.Second
	// reconnectWait is the pause before a server just tried is tried
	// again; the others of the list are tried at once.
	reconnectWait = time.Second
)

// A consumer's pull request lives pullExpiry, and the server sends a
// heartbeat every pullHeartbeat while it has nothing to deliver. Two
// heartbeats missed and the consumer pulls again, from the consumer's
// new leader after a failover: a consumer whose pull request was lost
// with a frozen node resumes within 4 s (with the defaults, 15 s
// heartbeats, it took 30 s).
const (
	pullExpiry    = 10 * time.Second
	pullHeartbeat = 2 * time.Second
)

// failoverOptions are the connection's options for the above. Reconnects
// never stop: the outbox keeps events while no server is reachable.
func failoverOptions() []nats.Option {
	return []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.Timeout(connectTimeout),
	}
}
