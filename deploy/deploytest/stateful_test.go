package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The stores in the cluster (deploy/k8s/components/stateful, in prod-ha):
// what an operator relies on when a zone is lost.

const zoneKey = "topology.kubernetes.io/zone"

// cnpgCluster is what these tests read of a CloudNativePG Cluster;
// TestEveryObjectMatchesItsSchema holds all of it to the operator's CRD.
type cnpgCluster struct {
	Metadata metav1.ObjectMeta
	Spec     struct {
		Instances int
		ImageName string
		Affinity  struct {
			EnablePodAntiAffinity            *bool
			PodAntiAffinityType, TopologyKey string
		}
		PostgreSQL struct {
			Synchronous *struct {
				Method         string
				Number         int
				DataDurability string
				FailoverQuorum bool
			}
			Parameters map[string]string
		}
		Bootstrap struct {
			InitDB struct {
				Database, Owner string
				Secret          *struct{ Name string }
			}
		}
		Storage           struct{ Size string }
		EnablePDB         *bool
		InheritedMetadata struct{ Annotations map[string]string }
	}
}

// eachWithStores runs f for each overlay that runs the stores itself.
func eachWithStores(t *testing.T, f func(t *testing.T, m manifests)) {
	ran := false
	each(t, func(t *testing.T, _ string, m manifests) {
		if m.stores() {
			ran = true
			f(t, m)
		}
	})
	if !ran && !t.Failed() {
		t.Fatal("no overlay runs the stores in the cluster")
	}
}

func TestPostgreSQLIsSynchronousWithOneInstancePerZone(t *testing.T) {
	eachWithStores(t, func(t *testing.T, m manifests) {
		if len(m.clusters) != 1 {
			t.Fatalf("%d CloudNativePG Clusters, want one", len(m.clusters))
		}
		c := m.clusters[0].Spec
		if c.Instances != 3 {
			t.Errorf("%d instances, want 3: a primary and a replica in each other zone", c.Instances)
		}
		sync := c.PostgreSQL.Synchronous
		switch {
		case sync == nil:
			t.Error("replication is asynchronous: a commit acknowledged just before its zone is lost may be lost with it")
		case sync.Method != "any" || sync.Number < 1:
			t.Errorf("synchronous %s %d: want a quorum (any) of at least one replica", sync.Method, sync.Number)
		case sync.Number > c.Instances-2:
			t.Errorf("synchronous any %d of %d replicas: with one zone lost, writes would wait", sync.Number, c.Instances-1)
		case sync.DataDurability == "preferred":
			t.Error("dataDurability preferred: writes may go on with no replica to keep them")
		case !sync.FailoverQuorum:
			t.Error("no failover quorum: a replica that missed synchronous commits may be promoted")
		}
		a := c.Affinity
		if a.EnablePodAntiAffinity != nil && !*a.EnablePodAntiAffinity || a.PodAntiAffinityType != "required" || a.TopologyKey != zoneKey {
			t.Errorf("instances not held to one per zone: anti-affinity %+v", a)
		}
		if c.EnablePDB != nil && !*c.EnablePDB {
			t.Error("the operator's PodDisruptionBudgets are disabled: a drain may take the primary and a replica at once")
		}
		if q, err := resource.ParseQuantity(c.Storage.Size); err != nil || q.IsZero() {
			t.Errorf("storage size %q", c.Storage.Size)
		}
		if db := c.Bootstrap.InitDB; db.Database != "vitrine" || db.Owner != "vitrine" || db.Secret == nil {
			t.Errorf("bootstrap: database %q owned by %q, owner's Secret %v: want vitrine, vitrine and a Secret of yours", db.Database, db.Owner, db.Secret)
		}
		if ann := c.InheritedMetadata.Annotations; ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "9187" {
			t.Errorf("Prometheus does not find the instances' metrics (port 9187): %v", ann)
		}
		// The major version compose and the local cluster run.
		composeMajor := strings.SplitN(loadComposeImage(t, "postgres-primary"), ":", 2)[1][:2]
		if tag := c.ImageName[strings.LastIndex(c.ImageName, ":")+1:]; !strings.HasPrefix(tag, composeMajor) {
			t.Errorf("image %s: want PostgreSQL %s, as compose runs", c.ImageName, composeMajor)
		}
	})
}

func TestNATSKeepsEveryStreamOnThreeServersInThreeZones(t *testing.T) {
	eachWithStores(t, func(t *testing.T, m manifests) {
		set := m.statefulSet(t, "vitrine-nats")
		n := deref(set.Spec.Replicas)
		if n != 3 {
			t.Errorf("%d NATS servers, want 3", n)
		}
		if v, _ := m.setting(t, "product", "stream-replicas"); v != strconv.Itoa(int(n)) {
			t.Errorf("Vitrine's streams are kept by %s servers, want all %d", v, n)
		}
		opts := natsOptions(t, m, set)
		c := set.Spec.Template.Spec.Containers[0]
		if !opts.JetStream || opts.StoreDir == "" {
			t.Fatal("JetStream is off, or has no store directory")
		}
		claim := claimAt(set, c, opts.StoreDir)
		if claim == nil {
			t.Errorf("JetStream's store %s is not on a volume claimed per server", opts.StoreDir)
		} else if size := claim.Spec.Resources.Requests[corev1.ResourceStorage]; opts.JetStreamMaxStore > size.Value() {
			t.Errorf("JetStream may store %d bytes on a volume of %s", opts.JetStreamMaxStore, size.String())
		}
		var routes []string
		for _, r := range opts.Routes {
			routes = append(routes, r.Host)
		}
		if want := podHosts(set, port(t, c, "cluster")); !slices.Equal(routes, want) {
			t.Errorf("cluster routes %v, want every server: %v", routes, want)
		}
		if opts.Port != int(port(t, c, "nats")) || opts.HTTPPort != int(port(t, c, "monitor")) || opts.Cluster.Port != int(port(t, c, "cluster")) {
			t.Errorf("nats.conf's ports (%d, %d, %d) are not the container's", opts.Port, opts.HTTPPort, opts.Cluster.Port)
		}
		grace := deref(set.Spec.Template.Spec.TerminationGracePeriodSeconds)
		if lameDuck := opts.LameDuckDuration + opts.LameDuckGracePeriod; int64(lameDuck.Seconds()) >= grace {
			t.Errorf("lame-duck mode takes %v, the grace period is %d s", lameDuck, grace)
		}
		if c.Image != "nats:"+natsServerVersion(t)+"-alpine" {
			t.Errorf("image %s: want the release of nats-server that checked nats.conf here (%s)", c.Image, natsServerVersion(t))
		}
		m.checkHeadless(t, set)
		m.checkSpread(t, set)
	})
}

func TestRedisHasSentinelsThatOutliveAZone(t *testing.T) {
	eachWithStores(t, func(t *testing.T, m manifests) {
		set := m.statefulSet(t, "vitrine-redis")
		n := int(deref(set.Spec.Replicas))
		env := map[string]map[string]string{}
		for _, c := range set.Spec.Template.Spec.Containers {
			env[c.Name] = map[string]string{}
			for _, e := range c.Env {
				env[c.Name][e.Name] = e.Value
			}
		}
		sentinel, ok := env["sentinel"]
		if n != 3 || !ok || env["redis"] == nil {
			t.Fatalf("%d pods with containers %v: want 3, each a Redis server and a Sentinel", n, keys(env))
		}
		quorum, _ := strconv.Atoi(sentinel["SENTINEL_QUORUM"])
		if quorum != 2 {
			t.Errorf("Sentinel quorum %d, want 2 of %d: a majority, which one lost zone leaves", quorum, n)
		}
		for name, e := range env {
			if e["REPLICAS"] != strconv.Itoa(n) || e["HEADLESS"] != set.Spec.ServiceName || e["MASTER_NAME"] == "" {
				t.Errorf("%s: REPLICAS %s, HEADLESS %s, MASTER_NAME %q: want the StatefulSet's %d, %s and a name", name, e["REPLICAS"], e["HEADLESS"], e["MASTER_NAME"], n, set.Spec.ServiceName)
			}
		}
		if sentinel["MASTER_NAME"] != env["redis"]["MASTER_NAME"] {
			t.Error("the Sentinels watch another master name than the servers use")
		}
		// The script the pods run is the repository's, which shellcheck checks.
		script, err := os.ReadFile(filepath.Join(root, "deploy/k8s/components/stateful/redis.sh"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(keys(m.configMaps), func(name string) bool { return m.configMaps[name].Data["redis.sh"] == string(script) }) {
			t.Error("no ConfigMap holds redis.sh")
		}
		m.checkHeadless(t, set)
		m.checkSpread(t, set)
		// No volume binds a pod to its zone: a lost zone's pod must be free to
		// start in another.
		zone := set.Spec.Template.Spec.TopologySpreadConstraints[0]
		if len(set.Spec.VolumeClaimTemplates) > 0 || deref(zone.NodeTaintsPolicy) != corev1.NodeInclusionPolicyHonor {
			t.Error("a lost zone's Redis pod cannot start in another zone (volumes, or tainted nodes counted)")
		}
	})
}

// TestStatefulPodsMeetTheRestrictedStandard: the namespace enforces it, so
// a pod that does not would be refused.
func TestStatefulPodsMeetTheRestrictedStandard(t *testing.T) {
	eachWithStores(t, func(t *testing.T, m manifests) {
		for name, set := range m.statefulSets {
			checkPodSecurity(t, name, set.Spec.Template.Spec)
			for _, c := range set.Spec.Template.Spec.Containers {
				if c.ReadinessProbe == nil || c.LivenessProbe == nil {
					t.Errorf("%s/%s: no readiness or liveness probe", name, c.Name)
				}
			}
		}
	})
}

func (m manifests) statefulSet(t *testing.T, name string) appsv1.StatefulSet {
	t.Helper()
	set, ok := m.statefulSets[name]
	if !ok {
		t.Fatalf("no StatefulSet %s", name)
	}
	if !selector(t, set.Spec.Selector).Matches(labels.Set(set.Spec.Template.Labels)) {
		t.Fatalf("StatefulSet %s does not select its own pods", name)
	}
	return set
}

// checkHeadless: the StatefulSet's Service gives each pod its name, before
// it is ready (servers find each other while they start).
func (m manifests) checkHeadless(t *testing.T, set appsv1.StatefulSet) {
	t.Helper()
	s, ok := m.services[set.Spec.ServiceName]
	if !ok || s.Spec.ClusterIP != corev1.ClusterIPNone || !s.Spec.PublishNotReadyAddresses ||
		len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(set.Spec.Template.Labels)) {
		t.Errorf("%s: no headless Service %s that publishes its pods' names before they are ready", set.Name, set.Spec.ServiceName)
	}
}

// checkSpread: one pod per zone and per node, and a budget that lets one
// go at a time.
func (m manifests) checkSpread(t *testing.T, set appsv1.StatefulSet) {
	t.Helper()
	pod := set.Spec.Template
	spread := pod.Spec.TopologySpreadConstraints
	if len(spread) == 0 || spread[0].TopologyKey != zoneKey || spread[0].MaxSkew != 1 || spread[0].WhenUnsatisfiable != corev1.DoNotSchedule ||
		!selector(t, spread[0].LabelSelector).Matches(labels.Set(pod.Labels)) {
		t.Errorf("%s: its pods are not held one per zone", set.Name)
	}
	anti := pod.Spec.Affinity
	if anti == nil || anti.PodAntiAffinity == nil || !slices.ContainsFunc(anti.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, func(term corev1.PodAffinityTerm) bool {
		return term.TopologyKey == "kubernetes.io/hostname" && selector(t, term.LabelSelector).Matches(labels.Set(pod.Labels))
	}) {
		t.Errorf("%s: two of its pods may share a node", set.Name)
	}
	b, ok := m.budgets[set.Name]
	if !ok || !selector(t, b.Spec.Selector).Matches(labels.Set(pod.Labels)) || b.Spec.MaxUnavailable == nil || b.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("%s: no PodDisruptionBudget letting one pod go at a time", set.Name)
	}
}

// podHosts is each pod's name under the StatefulSet's Service, with a port.
func podHosts(set appsv1.StatefulSet, port int32) []string {
	var hosts []string
	for i := range deref(set.Spec.Replicas) {
		hosts = append(hosts, fmt.Sprintf("%s-%d.%s:%d", set.Name, i, set.Spec.ServiceName, port))
	}
	return hosts
}

// claimAt returns the volume claim template mounted at path.
func claimAt(set appsv1.StatefulSet, c corev1.Container, path string) *corev1.PersistentVolumeClaim {
	for _, vm := range c.VolumeMounts {
		for i, claim := range set.Spec.VolumeClaimTemplates {
			if vm.Name == claim.Name && filepath.Clean(vm.MountPath) == filepath.Clean(path) {
				return &set.Spec.VolumeClaimTemplates[i]
			}
		}
	}
	return nil
}

// loadComposeImage is the image of a compose service.
func loadComposeImage(t *testing.T, service string) string {
	t.Helper()
	for _, s := range loadCompose(t).Services {
		if s.Name == service {
			return s.Image
		}
	}
	t.Fatalf("compose has no service %s", service)
	return ""
}
