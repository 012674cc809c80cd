package localcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis runs as a primary and two replicas, one per zone, without
// persistence (a cache, rate limits and login throttles), watched by three
// Sentinels, one per zone. When the primary's zone is lost, the Sentinels
// that still see each other (two make a quorum) promote a replica and tell
// every client that asks; Vitrine asks them (RedisURL).
const (
	sentinelDownAfter = 2 * time.Second  // a primary silent this long is down
	sentinelFailover  = 10 * time.Second // one failover's time limit, and the wait before another
)

// startRedis starts one zone's Redis: as a replica of the primary the
// Sentinels name, or, when none answers (a new cluster), as the primary
// in zone a and its replicas elsewhere.
func (c *Cluster) startRedis(ctx context.Context, p Process) error {
	if c.Alive(p.Name) {
		return nil
	}
	dir := c.path("redis", p.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"redis-server", "--bind", p.Host, "--port", strconv.Itoa(p.Ports["redis"]),
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		// Replicas connect from 127.0.0.1: each says where it listens.
		"--replica-announce-ip", p.Host}
	primary := c.RedisPrimary(ctx)
	if primary == "" {
		primary = c.Zoned(KindRedis, Zones[0]).Addr("redis")
	}
	if host, port, _ := net.SplitHostPort(primary); primary != p.Addr("redis") {
		args = append(args, "--replicaof", host, port)
	}
	if err := c.spawn(p.Name, nil, args...); err != nil {
		return err
	}
	return c.withLogTail(p.Name, waitUntil(ctx, 20*time.Second, p.Name, tcpOpen(p.Addr("redis"))))
}

// startSentinel starts one zone's Sentinel. Its configuration file is its
// memory (Sentinel rewrites it as the primary moves), so it is written
// only once.
func (c *Cluster) startSentinel(ctx context.Context, p Process) error {
	if c.Alive(p.Name) {
		return nil
	}
	conf := c.path("redis", p.Name+".conf")
	if _, err := os.Stat(conf); os.IsNotExist(err) {
		first := c.Zoned(KindRedis, Zones[0])
		text := fmt.Sprintf(`bind %s
port %d
dir %s
sentinel announce-ip %s
sentinel resolve-hostnames no
sentinel monitor %s %s %d 2
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s %d
sentinel parallel-syncs %s 1
`, p.Host, p.Ports["sentinel"], c.path("redis"), p.Host, RedisMaster, first.Host, first.Ports["redis"],
			RedisMaster, sentinelDownAfter.Milliseconds(), RedisMaster, sentinelFailover.Milliseconds(), RedisMaster)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return err
		}
	}
	if err := c.spawn(p.Name, nil, "redis-sentinel", conf); err != nil {
		return err
	}
	return c.withLogTail(p.Name, waitUntil(ctx, 20*time.Second, p.Name, tcpOpen(p.Addr("sentinel"))))
}

// RedisPrimary is the address of the primary, as the first Sentinel that
// answers names it, or "" when none does.
func (c *Cluster) RedisPrimary(ctx context.Context) string {
	for _, s := range c.OfKind(KindSentinel) {
		if !c.Answering(s.Name) {
			continue
		}
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr("sentinel"), DialTimeout: time.Second,
			ReadTimeout: time.Second, MaxRetries: -1})
		addr, err := sc.GetMasterAddrByName(ctx, RedisMaster).Result()
		sc.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1])
		}
	}
	return ""
}

// redisRole is what one Redis server says it is: "master" or "slave", and
// for a replica whether its link to the primary is up.
func redisRole(ctx context.Context, p Process) string {
	rc := redis.NewClient(&redis.Options{Addr: p.Addr("redis"), DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer rc.Close()
	info, err := rc.InfoMap(ctx, "replication").Result()
	if err != nil {
		return "unreachable"
	}
	r := info["Replication"]
	if r["role"] == "master" {
		return "primary, " + r["connected_slaves"] + " replica(s)"
	}
	return "replica of " + r["master_host"] + ":" + r["master_port"] + ", link " + r["master_link_status"]
}

// startRedisCluster starts the three Redis servers, then their Sentinels.
func (c *Cluster) startRedisCluster(ctx context.Context) error {
	for _, kind := range []Kind{KindRedis, KindSentinel} {
		for _, p := range c.OfKind(kind) {
			if err := c.startFixed(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// MoveRedisPrimary makes zone z's Redis the primary, through the
// Sentinels (SENTINEL FAILOVER, the others' replica-priority at 0 for the
// while so that z's replica is the one promoted).
func (c *Cluster) MoveRedisPrimary(ctx context.Context, z string) error {
	target := c.Zoned(KindRedis, z)
	if c.RedisPrimary(ctx) == target.Addr("redis") {
		return nil
	}
	setPriority := func(p int) error {
		for _, r := range c.OfKind(KindRedis) {
			if r.Zone == z {
				continue
			}
			rc := redis.NewClient(&redis.Options{Addr: r.Addr("redis"), MaxRetries: -1})
			err := rc.ConfigSet(ctx, "replica-priority", strconv.Itoa(p)).Err()
			rc.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", r.Name, err)
			}
		}
		return nil
	}
	if err := setPriority(0); err != nil {
		return err
	}
	defer func() { _ = setPriority(100) }() // Redis's default
	s := c.Zoned(KindSentinel, z)
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr("sentinel"), MaxRetries: -1})
	defer sc.Close()
	if err := sc.Failover(ctx, RedisMaster).Err(); err != nil {
		return fmt.Errorf("SENTINEL FAILOVER: %w", err)
	}
	return waitUntil(ctx, time.Minute, target.Name+" to be the Redis primary, with both replicas", func(ctx context.Context) bool {
		return c.RedisPrimary(ctx) == target.Addr("redis") && c.redisHealth(ctx) == nil
	})
}
