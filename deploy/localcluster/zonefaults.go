package localcluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// The zone faults: what losing a zone looks like, for anyone to try
// ("make cluster-zone-freeze ZONE=a") and for the zone test.
//
// FreezeZone stops every process of the zone, and everything they started,
// with SIGSTOP: their sockets stay open and the kernel still accepts
// connections, but nothing answers, as when a zone is cut off from the
// others. ThawZone lets them run again (SIGCONT), with a view of the
// cluster that is seconds old: Patroni demotes an old leader, Sentinel
// turns an old primary into a replica. KillZone kills them all at once
// (SIGKILL), as a power cut; StartZone starts them again.

// zoneProcesses are the names of the zone's processes that run: its
// members of every part first, then its instances.
func (c *Cluster) zoneProcesses(z string) []string {
	var out []string
	for _, p := range c.Processes() {
		if p.Zone == z && c.Alive(p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

func checkZone(z string) error {
	if !IsZone(z) {
		return fmt.Errorf("no zone %q: the zones are %s", z, strings.Join(Zones, ", "))
	}
	return nil
}

// FreezeZone stops every process of zone z (SIGSTOP).
func (c *Cluster) FreezeZone(z string) error {
	if err := checkZone(z); err != nil {
		return err
	}
	// Every pid first, then the signals at once: no process of the zone
	// goes on answering while the others are being found.
	names := c.zoneProcesses(z)
	var pids []int
	for _, name := range names {
		pids = append(pids, c.treeOf(name)...)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	c.logf("zone %s frozen: %s", z, strings.Join(names, " "))
	return nil
}

// ThawZone lets every process of zone z run again (SIGCONT).
func (c *Cluster) ThawZone(z string) error {
	if err := checkZone(z); err != nil {
		return err
	}
	names := c.zoneProcesses(z)
	for _, name := range names {
		c.signalTree(name, syscall.SIGCONT)
	}
	c.logf("zone %s thawed: %s", z, strings.Join(names, " "))
	return nil
}

// KillZone kills every process of zone z (SIGKILL) and remembers which
// instances ran there, for StartZone.
func (c *Cluster) KillZone(z string) error {
	if err := checkZone(z); err != nil {
		return err
	}
	names := c.zoneProcesses(z)
	var instances []string
	for _, name := range names {
		if _, _, ok := ParseInstance(name); ok {
			instances = append(instances, name)
		}
		c.signalTree(name, syscall.SIGKILL)
	}
	for _, name := range names {
		c.stopProcess(name, syscall.SIGKILL, 5*time.Second)
	}
	if err := os.WriteFile(c.killedFile(z), []byte(strings.Join(instances, "\n")), 0o644); err != nil {
		return err
	}
	c.logf("zone %s killed: %s", z, strings.Join(names, " "))
	return c.writeTargets()
}

func (c *Cluster) killedFile(z string) string { return c.path("pids", "zone-"+z+".killed") }

// StartZone starts what of zone z does not run: its member of every part,
// then the instances KillZone found there (or, with no record, those up
// to CLUSTER_INSTANCES). Each member rejoins its part by itself.
func (c *Cluster) StartZone(ctx context.Context, z string) error {
	if err := checkZone(z); err != nil {
		return err
	}
	_ = c.ThawZone(z) // a frozen process would never start
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range c.fixed {
		if p.Zone == z && !c.Alive(p.Name) {
			g.Go(func() error { return c.startFixed(gctx, p) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var instances []Instance
	b, err := os.ReadFile(c.killedFile(z))
	if err == nil {
		for _, name := range strings.Fields(string(b)) {
			svc, i, _ := ParseInstance(name)
			instances = append(instances, c.Instance(svc, i))
		}
	} else {
		for _, svc := range Services {
			for i := 1; i <= c.Config.Instances; i++ {
				if inst := c.Instance(svc, i); inst.Zone == z && !c.Alive(inst.Name) {
					instances = append(instances, inst)
				}
			}
		}
	}
	if err := c.startInstances(ctx, instances); err != nil {
		return err
	}
	_ = os.Remove(c.killedFile(z))
	c.logf("zone %s started", z)
	return nil
}
