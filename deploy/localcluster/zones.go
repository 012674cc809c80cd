package localcluster

import (
	"fmt"
	"net"
	"slices"
	"strconv"
)

// Zones are the cluster's availability zones. Each holds one member of
// every replicated part and at least one instance of every service (with
// three instances or more).
var Zones = []string{"a", "b", "c"}

// ZoneHost is the address every process of zone z listens on: zone a is
// 127.0.1.1, b 127.0.2.1, c 127.0.3.1, each in a /24 of its own. Linux
// answers on all of 127.0.0.0/8 with no setup, so nothing needs root.
func ZoneHost(z string) string {
	i := slices.Index(Zones, z)
	if i < 0 {
		panic("localcluster: no zone " + z)
	}
	return fmt.Sprintf("127.0.%d.1", i+1)
}

// IsZone says whether z is one of the zones.
func IsZone(z string) bool { return slices.Contains(Zones, z) }

// zoneAddrs are host:port of a port in each of zones.
func zoneAddrs(zones []string, port int) []string {
	var out []string
	for _, z := range zones {
		out = append(out, net.JoinHostPort(ZoneHost(z), strconv.Itoa(port)))
	}
	return out
}

// nearFirst are the zones with z first, then the others in order: where
// an instance in z looks for a replica.
func nearFirst(z string) []string {
	out := []string{z}
	for _, o := range Zones {
		if o != z {
			out = append(out, o)
		}
	}
	return out
}

// RedisMaster is the name the Sentinels know the Redis primary by.
const RedisMaster = "vitrine"
