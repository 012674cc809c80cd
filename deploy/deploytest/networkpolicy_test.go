package deploytest

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// peer is one end of a connection: a pod (its namespace's labels and its
// own), or an address outside the cluster (a managed database, the
// internet).
type peer struct {
	name      string
	namespace labels.Set
	pod       labels.Set
	container *corev1.Container // for a pod of ours: resolves named ports
}

func (p peer) outside() bool { return p.namespace == nil }

func namespaced(name string) labels.Set {
	return labels.Set{"kubernetes.io/metadata.name": name}
}

var (
	ingressController = peer{name: "ingress controller", namespace: namespaced("ingress-nginx"), pod: labels.Set{"app.kubernetes.io/name": "ingress-nginx"}}
	prometheus        = peer{name: "Prometheus", namespace: namespaced("monitoring"), pod: labels.Set{"app.kubernetes.io/name": "prometheus"}}
	kubeDNS           = peer{name: "cluster DNS", namespace: namespaced("kube-system"), pod: labels.Set{"k8s-app": "kube-dns"}}
	elsewhere         = peer{name: "an address outside the cluster"}
)

// podOf is a pod of a service of this overlay.
func (m manifests) podOf(t *testing.T, svc string) peer {
	c := m.container(t, svc)
	return peer{name: svc, namespace: namespaced(m.namespace), pod: m.deployments[svc].Spec.Template.Labels, container: &c}
}

// allows says whether the NetworkPolicies let from open a connection to
// port (a number) of to, as Kubernetes decides: the policies that select
// the sender must allow it out, and those that select the receiver must
// let it in; a pod no policy selects is open.
func (m manifests) allows(t *testing.T, from, to peer, protocol corev1.Protocol, port int32) bool {
	ours := namespaced(m.namespace)
	out, in := true, true
	if labels.Equals(from.namespace, ours) {
		out = m.anyRule(t, from, networkingv1.PolicyTypeEgress, func(r rule) bool { return r.admits(t, m.namespace, to, to, protocol, port) })
	}
	if labels.Equals(to.namespace, ours) {
		in = m.anyRule(t, to, networkingv1.PolicyTypeIngress, func(r rule) bool { return r.admits(t, m.namespace, from, to, protocol, port) })
	}
	return out && in
}

// rule is an ingress or egress rule: its peers and its ports.
type rule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

// anyRule reports whether some rule, of the policies of the given type that
// select pod, satisfies ok; true when no such policy selects pod.
func (m manifests) anyRule(t *testing.T, pod peer, typ networkingv1.PolicyType, ok func(rule) bool) bool {
	selected := false
	for _, p := range m.policies {
		if !slices.Contains(p.Spec.PolicyTypes, typ) || !labelSelector(t, &p.Spec.PodSelector).Matches(pod.pod) {
			continue
		}
		selected = true
		if typ == networkingv1.PolicyTypeIngress {
			for _, r := range p.Spec.Ingress {
				if ok(rule{r.From, r.Ports}) {
					return true
				}
			}
		} else {
			for _, r := range p.Spec.Egress {
				if ok(rule{r.To, r.Ports}) {
					return true
				}
			}
		}
	}
	return !selected
}

// admits says whether the rule matches the peer p and the port of the
// receiving pod dst.
func (r rule) admits(t *testing.T, namespace string, p, dst peer, protocol corev1.Protocol, port int32) bool {
	return r.matchesPeer(t, namespace, p) && r.matchesPort(dst, protocol, port)
}

func (r rule) matchesPeer(t *testing.T, namespace string, p peer) bool {
	if len(r.peers) == 0 {
		return true
	}
	for _, np := range r.peers {
		switch {
		case np.IPBlock != nil:
			if p.outside() {
				return true
			}
		case p.outside():
		case np.NamespaceSelector == nil:
			if labels.Equals(p.namespace, namespaced(namespace)) && labelSelector(t, np.PodSelector).Matches(p.pod) {
				return true
			}
		default:
			if labelSelector(t, np.NamespaceSelector).Matches(p.namespace) &&
				(np.PodSelector == nil || labelSelector(t, np.PodSelector).Matches(p.pod)) {
				return true
			}
		}
	}
	return false
}

func (r rule) matchesPort(dst peer, protocol corev1.Protocol, port int32) bool {
	if len(r.ports) == 0 {
		return true
	}
	for _, p := range r.ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != protocol || p.Port == nil {
			continue
		}
		if p.Port.IntValue() == int(port) {
			return true
		}
		if dst.container != nil && slices.ContainsFunc(dst.container.Ports, func(cp corev1.ContainerPort) bool {
			return cp.Name == p.Port.String() && cp.ContainerPort == port
		}) {
			return true
		}
	}
	return false
}

func labelSelector(t *testing.T, s *metav1.LabelSelector) labels.Selector {
	t.Helper()
	if s == nil {
		return labels.Nothing()
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// reach is a connection and whether the policies must allow it.
type reach struct {
	from, to peer
	port     int32
	want     bool
}

// checkReach evaluates each connection (TCP) as Kubernetes would.
func (m manifests) checkReach(t *testing.T, cases []reach) {
	t.Helper()
	for _, c := range cases {
		if got := m.allows(t, c.from, c.to, corev1.ProtocolTCP, c.port); got != c.want {
			verb := map[bool]string{true: "can", false: "cannot"}[got]
			t.Errorf("%s %s reach %s on port %d", c.from.name, verb, c.to.name, c.port)
		}
	}
	if testing.Verbose() {
		t.Logf("%d connections checked", len(cases))
	}
}

const (
	postgresPort = 5432
	redisPort    = 6379
	sentinelPort = 26379
	natsPort     = 4222
	httpsPort    = 443
)

func TestNetworkPoliciesLetEachServiceReachOnlyWhatItNeeds(t *testing.T) {
	each(t, func(t *testing.T, _ string, m manifests) {
		// With the stores in the cluster, Vitrine reaches their pods
		// (TestNetworkPoliciesFenceTheStores) and nothing outside.
		outside := !m.stores()
		var cases []reach
		for _, svc := range services {
			pod := m.podOf(t, svc)
			http, admin := port(t, *pod.container, "http"), port(t, *pod.container, "admin")
			cases = append(cases,
				// Search's paths are the edge's alone.
				reach{ingressController, pod, http, svc != "search"},
				reach{ingressController, pod, admin, false},
				reach{prometheus, pod, admin, true},
				reach{prometheus, pod, http, false},
				reach{elsewhere, pod, http, false},
				reach{pod, elsewhere, postgresPort, svc != "search" && outside},
				reach{pod, elsewhere, redisPort, outside},
				reach{pod, elsewhere, natsPort, outside},
				reach{pod, elsewhere, httpsPort, false},
			)
			// Tokens are checked against auth's keys by product and
			// analytics; nothing else calls another service.
			for _, other := range services {
				if other != svc {
					cases = append(cases, reach{pod, m.podOf(t, other), http, other == "auth" && (svc == "product" || svc == "analytics")})
				}
			}
			if !m.allows(t, pod, kubeDNS, corev1.ProtocolUDP, 53) {
				t.Errorf("%s cannot resolve names (DNS, UDP 53)", svc)
			}
			// Each service has a policy of its own, beyond the default deny.
			if !slices.ContainsFunc(m.policies, func(p networkingv1.NetworkPolicy) bool {
				return len(p.Spec.PodSelector.MatchLabels) > 0 && labelSelector(t, &p.Spec.PodSelector).Matches(pod.pod)
			}) {
				t.Errorf("no NetworkPolicy is about the %s pods", svc)
			}
		}
		m.checkReach(t, cases)
	})
}

// edgePod is an edge (Varnish) pod, with the ports of both its containers.
func (m manifests) edgePod(t *testing.T) peer {
	e := m.edge(t)
	c := corev1.Container{Ports: append(slices.Clone(e.varnish.Ports), e.exporter.Ports...)}
	return peer{name: "varnish", namespace: namespaced(m.namespace), pod: e.set.Spec.Template.Labels, container: &c}
}

func TestNetworkPoliciesLetTheEdgeBetweenTheIngressAndTheServices(t *testing.T) {
	each(t, func(t *testing.T, _ string, m manifests) {
		edge := m.edgePod(t)
		e := m.edge(t)
		http, purge := int32(e.varnishd.listeners["http"]), int32(e.varnishd.listeners["purge"])
		metrics := port(t, e.exporter, "metrics")
		cases := []reach{
			{ingressController, edge, http, true},
			{ingressController, edge, purge, false},
			{ingressController, edge, metrics, false},
			{prometheus, edge, metrics, true},
			{prometheus, edge, http, false},
			{elsewhere, edge, http, false},
			{edge, elsewhere, httpsPort, false},
			{edge, elsewhere, postgresPort, false},
			{edge, elsewhere, redisPort, false},
		}
		for _, svc := range services {
			pod := m.podOf(t, svc)
			svcHTTP, admin := port(t, *pod.container, "http"), port(t, *pod.container, "admin")
			origin := svc == "product" || svc == "search"
			cases = append(cases,
				// Its misses go to the two services whose reads it keeps.
				reach{edge, pod, svcHTTP, origin},
				reach{edge, pod, admin, false},
				// Purges come from product alone, on their own listener.
				reach{pod, edge, purge, svc == "product"},
				reach{pod, edge, http, false},
			)
		}
		m.checkReach(t, cases)
		if !m.allows(t, edge, kubeDNS, corev1.ProtocolUDP, 53) {
			t.Error("the edge cannot resolve its backends' names (DNS, UDP 53)")
		}
	})
}
