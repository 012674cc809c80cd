package deploytest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The pods of the stores, as the operator and the StatefulSets label them.
func (m manifests) storePods(t *testing.T) (pg, nats, redis peer) {
	ns := namespaced(m.namespace)
	// CloudNativePG's labels on an instance's pod.
	pg = peer{name: "PostgreSQL", namespace: ns, pod: labels.Set{
		"cnpg.io/cluster": m.clusters[0].Metadata.Name, "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": "primary", "role": "primary"}}
	natsSet, redisSet := m.statefulSet(t, "vitrine-nats"), m.statefulSet(t, "vitrine-redis")
	nats = peer{name: "NATS", namespace: ns, pod: natsSet.Spec.Template.Labels, container: &natsSet.Spec.Template.Spec.Containers[0]}
	redis = peer{name: "Redis", namespace: ns, pod: redisSet.Spec.Template.Labels, container: &redisSet.Spec.Template.Spec.Containers[0]}
	return pg, nats, redis
}

var cnpgOperator = peer{name: "the CloudNativePG operator", namespace: namespaced("cnpg-system"), pod: labels.Set{"app.kubernetes.io/name": "cloudnative-pg"}}

func TestNetworkPoliciesFenceTheStores(t *testing.T) {
	eachWithStores(t, func(t *testing.T, m manifests) {
		pg, nats, redis := m.storePods(t)
		const (
			instanceManager = 8000
			pgMetrics       = 9187
			natsRoutes      = 6222
			natsMonitor     = 8222
			apiServer       = 6443
		)
		cases := []reach{
			// Each store's pods among themselves: replication, routes, Sentinels.
			{pg, pg, postgresPort, true}, {pg, pg, instanceManager, true},
			{nats, nats, natsRoutes, true}, {redis, redis, redisPort, true}, {redis, redis, sentinelPort, true},
			// The operator runs PostgreSQL; its instances read their Cluster
			// from the API server; Prometheus reads their metrics.
			{cnpgOperator, pg, postgresPort, true}, {cnpgOperator, pg, instanceManager, true},
			{pg, elsewhere, apiServer, true}, {prometheus, pg, pgMetrics, true}, {prometheus, pg, postgresPort, false},
			// Nothing else: not the ingress controller, not the operator
			// elsewhere, not the internet, not one store to another.
			{cnpgOperator, redis, redisPort, false}, {cnpgOperator, nats, natsPort, false},
			{ingressController, pg, postgresPort, false}, {ingressController, redis, redisPort, false}, {ingressController, nats, natsPort, false},
			{elsewhere, pg, postgresPort, false}, {elsewhere, redis, sentinelPort, false}, {elsewhere, nats, natsPort, false},
			{nats, redis, redisPort, false}, {redis, pg, postgresPort, false}, {pg, nats, natsPort, false},
			{nats, elsewhere, httpsPort, false}, {redis, elsewhere, httpsPort, false}, {nats, nats, natsMonitor, false},
		}
		for _, svc := range services {
			pod := m.podOf(t, svc)
			cases = append(cases,
				reach{pod, pg, postgresPort, svc != "search"},
				reach{pod, pg, instanceManager, false},
				reach{pod, redis, sentinelPort, true},
				reach{pod, redis, redisPort, true},
				reach{pod, nats, natsPort, true},
				reach{pod, nats, natsRoutes, false},
				// The stores never call Vitrine.
				reach{pg, pod, port(t, *pod.container, "http"), false},
				reach{redis, pod, port(t, *pod.container, "http"), false},
			)
		}
		for _, store := range []peer{pg, nats, redis} {
			if !m.allows(t, store, kubeDNS, corev1.ProtocolUDP, 53) {
				t.Errorf("%s cannot resolve names (DNS, UDP 53)", store.name)
			}
		}
		m.checkReach(t, cases)
	})
}
