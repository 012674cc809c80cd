package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlays are the kustomize overlays and the namespace each deploys to.
// prod-ha is prod with the stores in the cluster (the component
// deploy/k8s/components/stateful).
var overlays = map[string]string{"dev": "vitrine-dev", "prod": "vitrine", "prod-ha": "vitrine"}

// production says whether an overlay is meant for production: the
// reference's bounds, a zone spread that is a rule.
func production(overlay string) bool { return overlay != "dev" }

// manifests are the objects an overlay builds, each decoded into its
// Kubernetes type.
type manifests struct {
	namespaces   []corev1.Namespace
	deployments  map[string]appsv1.Deployment
	services     map[string]corev1.Service
	autoscalers  map[string]autoscalingv2.HorizontalPodAutoscaler
	budgets      map[string]policyv1.PodDisruptionBudget
	configMaps   map[string]corev1.ConfigMap
	ingresses    []networkingv1.Ingress
	policies     []networkingv1.NetworkPolicy
	statefulSets map[string]appsv1.StatefulSet
	clusters     []cnpgCluster
	objects      []map[string]any // every object as rendered, for the schema test
	namespace    string
	objectsCount int
}

// stores says whether the overlay runs PostgreSQL, Redis and NATS itself.
func (m manifests) stores() bool { return len(m.clusters) > 0 }

// build runs kustomize on an overlay, as "kubectl apply -k" does, and
// decodes every object strictly: a field its type does not have (a typo, a
// field in the wrong place) fails the test, as the API server would refuse
// it.
func build(t *testing.T, overlay string) manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, "deploy/k8s/overlays", overlay))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	m := manifests{
		deployments: map[string]appsv1.Deployment{}, services: map[string]corev1.Service{},
		autoscalers: map[string]autoscalingv2.HorizontalPodAutoscaler{}, budgets: map[string]policyv1.PodDisruptionBudget{},
		configMaps: map[string]corev1.ConfigMap{}, statefulSets: map[string]appsv1.StatefulSet{}, namespace: overlays[overlay],
	}
	for _, r := range res.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m.objectsCount++
		m.objects = append(m.objects, must(r.Map()))
		id := r.GetApiVersion() + " " + r.GetKind() + " " + r.GetName()
		switch r.GetApiVersion() + " " + r.GetKind() {
		case "v1 Namespace":
			m.namespaces = append(m.namespaces, decode[corev1.Namespace](t, id, b))
		case "apps/v1 Deployment":
			m.deployments[r.GetName()] = decode[appsv1.Deployment](t, id, b)
		case "apps/v1 StatefulSet":
			m.statefulSets[r.GetName()] = decode[appsv1.StatefulSet](t, id, b)
		case "postgresql.cnpg.io/v1 Cluster":
			// No Go type to decode strictly into: TestEveryObjectMatchesItsSchema
			// checks it against the operator's CRD.
			var c cnpgCluster
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			m.clusters = append(m.clusters, c)
		case "v1 Service":
			m.services[r.GetName()] = decode[corev1.Service](t, id, b)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			m.autoscalers[r.GetName()] = decode[autoscalingv2.HorizontalPodAutoscaler](t, id, b)
		case "policy/v1 PodDisruptionBudget":
			m.budgets[r.GetName()] = decode[policyv1.PodDisruptionBudget](t, id, b)
		case "v1 ConfigMap":
			m.configMaps[r.GetName()] = decode[corev1.ConfigMap](t, id, b)
		case "networking.k8s.io/v1 Ingress":
			m.ingresses = append(m.ingresses, decode[networkingv1.Ingress](t, id, b))
		case "networking.k8s.io/v1 NetworkPolicy":
			m.policies = append(m.policies, decode[networkingv1.NetworkPolicy](t, id, b))
		default:
			// A Secret among them would be a secret kept in git.
			t.Errorf("%s: an object this test does not know; teach it, then check what matters about it", id)
		}
		if r.GetKind() != "Namespace" && r.GetNamespace() != m.namespace {
			t.Errorf("%s is in namespace %q, want %q", id, r.GetNamespace(), m.namespace)
		}
	}
	return m
}

func decode[T any](t *testing.T, id string, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return v
}

// each runs f for each overlay, as a subtest.
func each(t *testing.T, f func(t *testing.T, overlay string, m manifests)) {
	for _, overlay := range keys(overlays) {
		t.Run(overlay, func(t *testing.T) { f(t, overlay, build(t, overlay)) })
	}
}

// container is a service's one container.
func (m manifests) container(t *testing.T, svc string) corev1.Container {
	t.Helper()
	d, ok := m.deployments[svc]
	if !ok || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: want a Deployment with one container", svc)
	}
	return d.Spec.Template.Spec.Containers[0]
}

// setting returns the value of a flag of a service's container, from its
// arguments or, as VITRINE_*, from its environment or ConfigMaps.
func (m manifests) setting(t *testing.T, svc, flag string) (string, bool) {
	c := m.container(t, svc)
	for _, arg := range c.Args {
		if v, ok := strings.CutPrefix(arg, "--"+flag+"="); ok {
			return v, true
		}
	}
	name := "VITRINE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef != nil {
			if v, ok := m.configMaps[from.ConfigMapRef.Name].Data[name]; ok {
				return v, true
			}
		}
	}
	return "", false
}

func TestOverlaysBuildAServiceDeploymentAutoscalerBudgetAndPolicyPerService(t *testing.T) {
	each(t, func(t *testing.T, overlay string, m manifests) {
		for _, svc := range services {
			d, ok := m.deployments[svc]
			if !ok {
				t.Errorf("no Deployment %s", svc)
				continue
			}
			pods := labels.Set(d.Spec.Template.Labels)
			if sel := selector(t, d.Spec.Selector); !sel.Matches(pods) {
				t.Errorf("Deployment %s does not select its own pods", svc)
			}
			if d.Spec.Replicas != nil {
				t.Errorf("Deployment %s sets replicas (%d): each apply would fight its autoscaler", svc, *d.Spec.Replicas)
			}
			s, ok := m.services[svc]
			if !ok || !labels.SelectorFromSet(s.Spec.Selector).Matches(pods) || len(s.Spec.Selector) == 0 {
				t.Errorf("no Service selecting the %s pods", svc)
			}
			b, ok := m.budgets[svc]
			if !ok || !selector(t, b.Spec.Selector).Matches(pods) {
				t.Errorf("no PodDisruptionBudget for the %s pods", svc)
			}
			down, least := b.Spec.MaxUnavailable, deref(m.autoscalers[svc].Spec.MinReplicas)
			switch {
			case down == nil || down.Type != intstr.Int || down.IntValue() < 1:
				t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, want a number of pods, at least one, so that node drains progress", svc, down)
			case production(overlay) && int32(down.IntValue()) >= least:
				t.Errorf("PodDisruptionBudget %s lets %d pods go at once, as many as the autoscaler's minimum (%d)", svc, down.IntValue(), least)
			}
			if h, ok := m.autoscalers[svc]; !ok || h.Spec.ScaleTargetRef != (autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: svc}) {
				t.Errorf("no HorizontalPodAutoscaler scaling Deployment %s", svc)
			}
		}
		if len(m.namespaces) != 1 || m.namespaces[0].Name != m.namespace || m.namespaces[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("want the namespace %s, under the restricted Pod Security Standard", m.namespace)
		}
		t.Logf("%s: %d objects", overlay, m.objectsCount)
	})
}

// reference is the reference architecture's autoscaling: pods per service.
var reference = map[string][2]int32{
	"product":   {5, 50},
	"auth":      {2, 10},
	"search":    {2, 15},
	"analytics": {2, 10},
}

func TestAutoscalersFollowTheReference(t *testing.T) {
	each(t, func(t *testing.T, overlay string, m manifests) {
		for _, svc := range services {
			h := m.autoscalers[svc].Spec
			if h.MinReplicas == nil {
				t.Errorf("%s: no minReplicas", svc)
				continue
			}
			bounds := [2]int32{*h.MinReplicas, h.MaxReplicas}
			switch {
			case production(overlay) && bounds != reference[svc]:
				t.Errorf("%s scales between %d and %d pods, want the reference's %d-%d", svc, bounds[0], bounds[1], reference[svc][0], reference[svc][1])
			case bounds[0] < 1 || bounds[1] < bounds[0]:
				t.Errorf("%s scales between %d and %d pods", svc, bounds[0], bounds[1])
			}
			want := []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70))}}}}
			if got, _ := json.Marshal(h.Metrics); string(got) != string(must(json.Marshal(want))) {
				t.Errorf("%s scales on %s, want 70 %% CPU only", svc, got)
			}
			b := h.Behavior
			if b == nil || b.ScaleUp == nil || b.ScaleDown == nil ||
				deref(b.ScaleUp.StabilizationWindowSeconds) != 60 || deref(b.ScaleDown.StabilizationWindowSeconds) != 300 {
				t.Errorf("%s: want a stabilisation window of 60 s up and 300 s down, got %s", svc, must(json.Marshal(b)))
			}
			// Utilisation is a share of the CPU request: without one there is none.
			if _, ok := m.container(t, svc).Resources.Requests[corev1.ResourceCPU]; !ok {
				t.Errorf("%s requests no CPU, so its autoscaler has nothing to measure against", svc)
			}
		}
	})
}

func TestPodsAreProbedAndDrainWithinTheirGracePeriod(t *testing.T) {
	each(t, func(t *testing.T, _ string, m manifests) {
		for _, svc := range services {
			c := m.container(t, svc)
			http := port(t, c, "http")
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
				if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || !samePort(c, p.probe.HTTPGet.Port.String(), http) {
					t.Errorf("%s: the %s probe does not GET %s on port %d", svc, p.name, p.path, http)
				}
			}
			if addr, _ := m.setting(t, svc, "addr"); addr != "" && !strings.HasSuffix(addr, fmt.Sprint(":", http)) {
				t.Errorf("%s listens on %s, not on its http port %d", svc, addr, http)
			}

			var preStop time.Duration
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
				t.Errorf("%s: no preStop sleep (the image has no shell for an exec one)", svc)
			} else {
				preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			}
			drain := duration(t, m, svc, "drain-delay")
			if preStop != drain || drain == 0 {
				t.Errorf("%s: preStop sleeps %v, --drain-delay is %v: want them matched, and not zero", svc, preStop, drain)
			}
			shutdown := duration(t, m, svc, "shutdown-timeout")
			grace := time.Duration(deref(m.deployments[svc].Spec.Template.Spec.TerminationGracePeriodSeconds)) * time.Second
			if need := preStop + drain + shutdown; grace <= need {
				t.Errorf("%s: terminationGracePeriodSeconds is %v, want more than preStop %v + --drain-delay %v + --shutdown-timeout %v, or in-flight requests are killed", svc, grace, preStop, drain, shutdown)
			}
		}
	})
}

func TestPodsRunAsNonRootOnAReadOnlyRootWithBoundedResources(t *testing.T) {
	each(t, func(t *testing.T, _ string, m manifests) {
		for _, svc := range services {
			pod := m.deployments[svc].Spec.Template.Spec
			checkPodSecurity(t, svc, pod)
			// With a read-only root, /tmp must be a volume of its own.
			if !mounted(pod, m.container(t, svc), "/tmp", func(v corev1.Volume) bool { return v.EmptyDir != nil }) {
				t.Errorf("%s: /tmp is not a writable emptyDir", svc)
			}
		}
	})
}

// checkPodSecurity holds a pod to what the namespaces' "restricted" Pod
// Security Standard demands, and more: non-root with the runtime's seccomp
// profile, no service-account token, and in each container a read-only
// root, no privilege escalation, every capability dropped, CPU and memory
// requests within limits.
func checkPodSecurity(t *testing.T, name string, pod corev1.PodSpec) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || !deref(sc.RunAsNonRoot) || deref(sc.RunAsUser) == 0 || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: the pod may run as root or without the runtime's seccomp profile", name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s mounts a service account token it never uses", name)
	}
	for _, c := range pod.Containers {
		csc := c.SecurityContext
		if csc == nil || !deref(csc.ReadOnlyRootFilesystem) || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
			csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s/%s: want a read-only root file system, no privilege escalation and every capability dropped", name, c.Name)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[res]
			lim, okLim := c.Resources.Limits[res]
			if !okReq || !okLim || req.Cmp(lim) > 0 {
				t.Errorf("%s/%s: %s request %v and limit %v: want both, the request within the limit", name, c.Name, res, req.String(), lim.String())
			}
		}
	}
}

func TestSearchKeepsItsIndexInAVolumeRebuiltOnStart(t *testing.T) {
	dataDir, _ := env(readDockerfile(t).final(), "VITRINE_DATA_DIR")
	each(t, func(t *testing.T, _ string, m manifests) {
		pod := m.deployments["search"].Spec.Template.Spec
		if v, ok := m.setting(t, "search", "data-dir"); ok {
			dataDir = v
		}
		var size string
		ok := mounted(pod, m.container(t, "search"), dataDir, func(v corev1.Volume) bool {
			if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
				size = v.EmptyDir.SizeLimit.String()
			}
			return v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil
		})
		if !ok {
			t.Fatalf("search: its data directory %s is not an emptyDir with a size limit", dataDir)
		}
		if _, ok := m.container(t, "search").Resources.Limits[corev1.ResourceEphemeralStorage]; !ok {
			t.Errorf("search: its index (emptyDir of %s) is not counted in an ephemeral-storage limit", size)
		}
	})
}

func TestPodsSpreadAcrossZones(t *testing.T) {
	each(t, func(t *testing.T, overlay string, m manifests) {
		for _, svc := range services {
			pod := m.deployments[svc].Spec.Template
			var zone *corev1.TopologySpreadConstraint
			for i, c := range pod.Spec.TopologySpreadConstraints {
				if c.TopologyKey == "topology.kubernetes.io/zone" {
					zone = &pod.Spec.TopologySpreadConstraints[i]
				}
			}
			if zone == nil || zone.MaxSkew != 1 || !selector(t, zone.LabelSelector).Matches(labels.Set(pod.Labels)) {
				t.Errorf("%s: its pods are not spread evenly across zones", svc)
				continue
			}
			if production(overlay) && zone.WhenUnsatisfiable != corev1.DoNotSchedule {
				t.Errorf("%s: the spread across zones is only a preference in production", svc)
			}
			// The nodes of a lost zone stay, tainted unreachable: counted, they
			// would hold every new pod pending until the zone is back.
			if production(overlay) && deref(zone.NodeTaintsPolicy) != corev1.NodeInclusionPolicyHonor {
				t.Errorf("%s: the zone spread counts tainted nodes (nodeTaintsPolicy %q), so a lost zone blocks new pods", svc, deref(zone.NodeTaintsPolicy))
			}
		}
	})
}

func TestSecretsAreReferencedNeverInlined(t *testing.T) {
	sensitive := regexp.MustCompile(`(?i)password|secret|token|_url$`)
	each(t, func(t *testing.T, _ string, m manifests) {
		// build already refuses any Secret object.
		for name, cm := range m.configMaps {
			for k, v := range cm.Data {
				if problem := secretInEnv(k, v); problem != "" || sensitive.MatchString(k) {
					t.Errorf("ConfigMap %s: %s=%s: a secret, or a URL that may carry one, in a ConfigMap", name, k, redact(v))
				}
			}
		}
		for _, svc := range services {
			pod := m.deployments[svc].Spec.Template.Spec
			c := m.container(t, svc)
			for _, e := range c.Env {
				if problem := secretInEnv(e.Name, e.Value); problem != "" || sensitive.MatchString(e.Name) && !strings.HasSuffix(e.Name, "_FILE") && e.Value != "" {
					t.Errorf("%s: %s=%s in plain text: mount it from a Secret and use %s_FILE", svc, e.Name, redact(e.Value), e.Name)
				}
				if !strings.HasSuffix(e.Name, "_FILE") {
					continue
				}
				dir, file := filepath.Split(e.Value)
				fromSecret := mounted(pod, c, filepath.Clean(dir), func(v corev1.Volume) bool {
					return v.Secret != nil && slices.ContainsFunc(v.Secret.Items, func(k corev1.KeyToPath) bool { return k.Path == file })
				})
				if !fromSecret {
					t.Errorf("%s: %s=%s is not a file of a mounted Secret", svc, e.Name, e.Value)
				}
			}
			for _, v := range pod.Volumes {
				if v.Secret != nil && (!allowedSecret(m, v.Secret) || deref(v.Secret.DefaultMode)&0o007 != 0) {
					t.Errorf("%s: volume %s mounts Secret %s with mode %o: want the Secret vitrine (or, with the stores in the cluster, PostgreSQL's CA certificate alone), unreadable by others", svc, v.Name, v.Secret.SecretName, deref(v.Secret.DefaultMode))
				}
			}
		}
		// What each service reads, and nothing more.
		needs := map[string][]string{
			"product":   {"VITRINE_CURSOR_SECRET_FILE", "VITRINE_NATS_URL_FILE", "VITRINE_POSTGRES_URL_FILE", "VITRINE_REDIS_URL_FILE"},
			"auth":      {"VITRINE_NATS_URL_FILE", "VITRINE_POSTGRES_URL_FILE", "VITRINE_REDIS_URL_FILE"},
			"search":    {"VITRINE_NATS_URL_FILE", "VITRINE_REDIS_URL_FILE"},
			"analytics": {"VITRINE_NATS_URL_FILE", "VITRINE_POSTGRES_URL_FILE", "VITRINE_REDIS_URL_FILE"},
		}
		if m.stores() {
			// Reads that may lag go to the replicas (vitrine-pg-ro).
			for _, svc := range []string{"product", "analytics"} {
				needs[svc] = append(needs[svc], "VITRINE_POSTGRES_REPLICA_URL_FILE")
				slices.Sort(needs[svc])
			}
		}
		for svc, want := range needs {
			var got []string
			for _, e := range m.container(t, svc).Env {
				if strings.HasSuffix(e.Name, "_FILE") {
					got = append(got, e.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s reads secrets %v, want %v", svc, got, want)
			}
		}
	})
}

// allowedSecret says whether a Vitrine pod may mount the Secret: its own,
// or, with the stores in the cluster, the certificate (not the key) of the
// CA that signs PostgreSQL's, for sslmode=verify-full.
func allowedSecret(m manifests, s *corev1.SecretVolumeSource) bool {
	if s.SecretName == "vitrine" {
		return true
	}
	return m.stores() && s.SecretName == m.clusters[0].Metadata.Name+"-ca" &&
		slices.Equal(s.Items, []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}})
}

func TestIngressRoutesEveryAPIPathToTheServiceThatServesIt(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "api/openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	// Who serves what, as the services' routes.go say.
	owner := func(path string) string {
		for prefix, svc := range map[string]string{"/api/products": "product", "/api/categories": "product", "/openapi.json": "product", "/images/": "product",
			"/api/auth/": "auth", "/.well-known/": "auth", "/api/search": "search", "/api/analytics/": "analytics",
			"/api/ops/": "product"} {
			if strings.HasPrefix(path, prefix) {
				return svc
			}
		}
		return ""
	}
	each(t, func(t *testing.T, _ string, m manifests) {
		if len(m.ingresses) != 1 {
			t.Fatalf("%d Ingresses, want one", len(m.ingresses))
		}
		for path := range doc.Paths {
			if path == "/healthz" || path == "/readyz" {
				continue // the kubelet's, not the public's
			}
			concrete := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x")
			backend := route(m.ingresses[0], concrete)
			if backend == nil {
				t.Errorf("%s: no Ingress path routes it", path)
				continue
			}
			got := backend.Service.Name
			if got == "edge" {
				// The edge fetches it from the Service its site.vcl names.
				o := m.edge(t).origin(t, concrete)
				if !slices.ContainsFunc(m.services[o.host].Spec.Ports, func(p corev1.ServicePort) bool { return fmt.Sprint(p.Port) == o.port }) {
					t.Errorf("%s: the edge fetches it from %s:%s, which no Service serves", path, o.host, o.port)
				}
				got = o.host
			}
			if want := owner(path); got != want {
				t.Errorf("%s goes to %s, want %s", path, got, want)
			}
			svc, ok := m.services[backend.Service.Name]
			if !ok || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == backend.Service.Port.Name }) {
				t.Errorf("%s goes to %s port %q, which no Service has", path, backend.Service.Name, backend.Service.Port.Name)
			}
		}
	})
}

// route returns the backend the Ingress chooses for path: an Exact match,
// else the longest Prefix match by path elements.
func route(ing networkingv1.Ingress, path string) *networkingv1.IngressBackend {
	var best *networkingv1.HTTPIngressPath
	for _, rule := range ing.Spec.Rules {
		for i, p := range rule.HTTP.Paths {
			switch *p.PathType {
			case networkingv1.PathTypeExact:
				if p.Path == path {
					return &rule.HTTP.Paths[i].Backend
				}
			case networkingv1.PathTypePrefix:
				prefix := strings.TrimSuffix(p.Path, "/")
				if (path == prefix || strings.HasPrefix(path, prefix+"/")) && (best == nil || len(p.Path) > len(best.Path)) {
					best = &rule.HTTP.Paths[i]
				}
			}
		}
	}
	if best == nil {
		return nil
	}
	return &best.Backend
}

func selector(t *testing.T, s *metav1.LabelSelector) labels.Selector {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Empty() {
		t.Error("an empty label selector selects every pod")
	}
	return sel
}

// port returns the number of a container's named port.
func port(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q", c.Name, name)
	return 0
}

// samePort says whether a probe's port (a name or a number) is number.
func samePort(c corev1.Container, probePort string, number int32) bool {
	for _, p := range c.Ports {
		if p.Name == probePort {
			return p.ContainerPort == number
		}
	}
	return probePort == fmt.Sprint(number)
}

// mounted says whether the container mounts, at path, a volume for which ok
// holds.
func mounted(pod corev1.PodSpec, c corev1.Container, path string, ok func(corev1.Volume) bool) bool {
	for _, vm := range c.VolumeMounts {
		if filepath.Clean(vm.MountPath) != filepath.Clean(path) {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && ok(v) {
				return true
			}
		}
	}
	return false
}

func duration(t *testing.T, m manifests, svc, flag string) time.Duration {
	t.Helper()
	v, ok := m.setting(t, svc, flag)
	if !ok {
		t.Errorf("%s: --%s is not set", svc, flag)
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Errorf("%s: --%s=%s: %v", svc, flag, v, err)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
