# The Kubernetes part of default.vcl (a copy of deploy/varnish/default.vcl
# beside this file, kept equal by deploy/deploytest): the edge's backends,
# and who may purge. See deploy/varnish/site.vcl.example.
#
# The Ingress sends the edge the public reads of the catalog and search
# (ingress.yaml); the edge fetches its misses from the Services, whose
# addresses are stable (a ClusterIP, resolved when the VCL loads). /readyz
# tells Varnish whether to serve copies past their s-maxage: only while
# product does not answer.
backend vitrine {
	.host = "product";
	.port = "8080";
	.connect_timeout = 1s;
	.first_byte_timeout = 30s;
	.probe = {
		.url = "/readyz";
		.interval = 2s;
		.timeout = 1s;
		.window = 3;
		.threshold = 2;
	}
}

backend search {
	.host = "search";
	.port = "8080";
	.connect_timeout = 1s;
	.first_byte_timeout = 30s;
}

# The product pods purge (--edge-purge-url, each Varnish pod by name). Pod
# addresses are the cluster's to choose: the pod network may, as
# VITRINE_TRUSTED_PROXIES believes it; narrow both to your pod CIDR. The
# NetworkPolicy "varnish" lets only product reach the purge listener.
acl purgers {
	"10.0.0.0"/8;
}

# Purges only on the purge listener (-a purge=:6091): the ingress
# controller, also on the pod network, relays clients to the public one.
sub vcl_recv {
	if (req.method == "PURGE" && local.socket != "purge") {
		return (synth(405, "Method Not Allowed"));
	}
}

# Search's reads are search's: default.vcl sends every request to
# "vitrine", and this runs before its vcl_backend_fetch.
sub vcl_backend_fetch {
	if (bereq.url ~ "^/api/search") {
		set bereq.backend = search;
	}
}
