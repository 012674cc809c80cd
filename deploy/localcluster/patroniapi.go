package localcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// A PatroniMember is one PostgreSQL server as Patroni's /cluster shows it.
type PatroniMember struct {
	Name     string `json:"name"`
	Role     string `json:"role"`  // leader, sync_standby, replica
	State    string `json:"state"` // running, streaming, starting, stopped…
	Timeline int    `json:"timeline"`
	Lag      any    `json:"lag"` // bytes behind the leader, or "unknown"
}

// Healthy says whether the member runs: the leader running, a standby
// replicating from it (Patroni 3.0 says "running" with a lag in bytes, 3.1
// and later "streaming").
func (m PatroniMember) Healthy() bool {
	if m.Role == "leader" {
		return m.State == "running"
	}
	_, known := m.Lag.(float64)
	return (m.State == "running" || m.State == "streaming") && known
}

func (m PatroniMember) String() string {
	lag := ""
	if m.Role != "leader" {
		lag = fmt.Sprintf(", %v bytes behind", m.Lag)
	}
	return fmt.Sprintf("%s, %s, timeline %d%s", m.Role, m.State, m.Timeline, lag)
}

// patroniClient asks Patroni's REST API; each call's context bounds it.
var patroniClient = &http.Client{}

// PatroniMembers are the members as the first Patroni that answers sees
// them.
func (c *Cluster) PatroniMembers(ctx context.Context) ([]PatroniMember, error) {
	var errs []error
	for _, p := range c.OfKind(KindPostgres) {
		if !c.Answering(p.Name) {
			continue
		}
		var cluster struct {
			Members []PatroniMember `json:"members"`
		}
		// A frozen member must not hold the caller for long.
		ask, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := patroniCall(ask, http.MethodGet, "http://"+p.Addr("patroni")+"/cluster", nil, &cluster)
		cancel()
		if err == nil {
			return cluster.Members, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no Patroni answers: %w", errors.Join(errs...))
}

// PostgresLeader is the member Patroni made the leader, or "" when there
// is none (during a failover).
func (c *Cluster) PostgresLeader(ctx context.Context) string {
	members, _ := c.PatroniMembers(ctx)
	for _, m := range members {
		if m.Role == "leader" && m.State == "running" {
			return m.Name
		}
	}
	return ""
}

// Switchover is a planned failover through Patroni: the leader waits for
// its synchronous standby to have every write, steps down, and the standby
// is promoted. Vitrine finds the new leader through target_session_attrs.
func (c *Cluster) Switchover(ctx context.Context) error { return c.switchover(ctx, "") }

// MovePostgresLeader makes zone z's server the leader, by switchovers:
// Patroni promotes only the synchronous standby, so when z's is not it,
// a switchover moves the roles around first.
func (c *Cluster) MovePostgresLeader(ctx context.Context, z string) error {
	target := c.Zoned(KindPostgres, z).Name
	for range 5 {
		if c.PostgresLeader(ctx) == target {
			return nil
		}
		candidate := ""
		members, _ := c.PatroniMembers(ctx)
		for _, m := range members {
			if m.Name == target && m.Role == "sync_standby" {
				candidate = target
			}
		}
		if err := c.switchover(ctx, candidate); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s is not the PostgreSQL leader after five switchovers", target)
}

// hasSyncStandby says whether Patroni has named a synchronous standby,
// the only member a switchover may promote.
func (c *Cluster) hasSyncStandby(ctx context.Context) bool {
	members, _ := c.PatroniMembers(ctx)
	for _, m := range members {
		if m.Role == "sync_standby" {
			return true
		}
	}
	return false
}

func (c *Cluster) switchover(ctx context.Context, candidate string) error {
	if err := waitUntil(ctx, time.Minute, "a synchronous standby to switch over to", c.hasSyncStandby); err != nil {
		return err
	}
	leader := c.PostgresLeader(ctx)
	if leader == "" {
		return errors.New("PostgreSQL has no leader now: Patroni is failing over")
	}
	p, _ := c.Process(leader)
	c.logf("switching over from %s through Patroni", leader)
	req := map[string]string{"leader": leader}
	if candidate != "" {
		req["candidate"] = candidate
	}
	body, _ := json.Marshal(req)
	if err := patroniCall(ctx, http.MethodPost, "http://"+p.Addr("patroni")+"/switchover", body, nil); err != nil {
		return err
	}
	err := waitUntil(ctx, time.Minute, "a new PostgreSQL leader, every member streaming from it, one synchronously", func(ctx context.Context) bool {
		now := c.PostgresLeader(ctx)
		return now != "" && now != leader && c.postgresHealth(ctx) == nil && c.hasSyncStandby(ctx)
	})
	if err != nil {
		return err
	}
	c.logf("%s leads PostgreSQL; %s follows it", c.PostgresLeader(ctx), leader)
	return nil
}

// patroniCall sends one request to Patroni's REST API and reads its JSON
// answer into out (when out is not nil).
func patroniCall(ctx context.Context, method, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := patroniClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("patroni's REST API, %s %s: %s: %s", method, url, res.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
