package localcluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Healthy says what is not healthy in the cluster, or nil when every
// member of every part runs and replicates: three etcd members with a
// quorum; a PostgreSQL leader and two standbys streaming from it, on one
// timeline; a Redis primary that two replicas follow, and three Sentinels
// that agree on it; three NATS nodes; every zone's balancer and edge
// cache answering, and every running instance up in each. It is what the zone test waits
// for after a zone comes back, with nothing typed.
func (c *Cluster) Healthy(ctx context.Context) error {
	var errs []error
	for _, p := range c.OfKind(KindEtcd) {
		if !c.Answering(p.Name) || !c.etcdHealthy(p)(ctx) {
			errs = append(errs, fmt.Errorf("%s is not healthy", p.Name))
		}
	}
	errs = append(errs, c.postgresHealth(ctx))
	errs = append(errs, c.redisHealth(ctx))
	for _, n := range c.NATSNodes() {
		if !c.Answering(n.Name) || !httpOK(n.MonitorURL+"/healthz")(ctx) {
			errs = append(errs, fmt.Errorf("%s is not healthy", n.Name))
		}
	}
	for _, v := range c.OfKind(KindVarnish) {
		if !c.Answering(v.Name) || !tcpOpen(v.Addr("http"))(ctx) {
			errs = append(errs, fmt.Errorf("%s is not listening", v.Name))
		}
	}
	for _, lb := range c.OfKind(KindHAProxy) {
		if !c.Answering(lb.Name) || !httpOK("http://"+lb.Addr("stats")+"/lb-health")(ctx) {
			errs = append(errs, fmt.Errorf("%s is not healthy", lb.Name))
		}
	}
	if len(c.Balancers()) == len(Zones) {
		for _, svc := range Services {
			for _, inst := range c.running(svc) {
				if !c.serverUp(svc, inst.Name)(ctx) {
					errs = append(errs, fmt.Errorf("%s is not up in every balancer", inst.Name))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) postgresHealth(ctx context.Context) error {
	members, err := c.PatroniMembers(ctx)
	if err != nil {
		return err
	}
	timelines := map[int]bool{}
	var bad []string
	for _, m := range members {
		timelines[m.Timeline] = true
		if !m.Healthy() {
			bad = append(bad, m.Name+" "+m.String())
		}
	}
	switch {
	case len(members) != len(Zones):
		return fmt.Errorf("the PostgreSQL cluster has %d members in Patroni, not %d", len(members), len(Zones))
	case len(bad) > 0:
		return fmt.Errorf("PostgreSQL: %s", strings.Join(bad, "; "))
	case len(timelines) != 1:
		return fmt.Errorf("PostgreSQL members on %d timelines", len(timelines))
	}
	return nil
}

func (c *Cluster) redisHealth(ctx context.Context) error {
	primary := c.RedisPrimary(ctx)
	if primary == "" {
		return errors.New("no Sentinel names a Redis primary")
	}
	var errs []error
	for _, s := range c.OfKind(KindSentinel) {
		if !c.Answering(s.Name) || !tcpOpen(s.Addr("sentinel"))(ctx) {
			errs = append(errs, fmt.Errorf("%s is not running", s.Name))
		}
	}
	for _, r := range c.OfKind(KindRedis) {
		role := redisRole(ctx, r)
		switch {
		case r.Addr("redis") == primary && role != fmt.Sprintf("primary, %d replica(s)", len(Zones)-1):
			errs = append(errs, fmt.Errorf("%s, the primary the Sentinels name, is %s", r.Name, role))
		case r.Addr("redis") != primary && role != "replica of "+primary+", link up":
			errs = append(errs, fmt.Errorf("%s is %s, not a replica of %s", r.Name, role, primary))
		}
	}
	return errors.Join(errs...)
}
