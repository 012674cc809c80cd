# The compose project's part of deploy/varnish/default.vcl (see
# site.vcl.example): the edge's backend, and who may purge.
#
# Varnish sits behind HAProxy (deploy/compose/haproxy.cfg): HAProxy sends
# it the public reads of the catalog and search, with the read-your-writes
# mark (X-Vitrine-Recent-Writer) already set, and Varnish fetches what it
# does not hold from HAProxy's "origin" frontend, which balances over the
# instances as the public one does.
backend vitrine {
	.host = "haproxy";
	.port = "8089";
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

# The product instances purge (--edge-purge-url http://varnish:6091). Their
# addresses are Docker's to choose on the project's network, so the whole
# network may, but HAProxy, which relays clients, never.
acl purgers {
	! "172.28.0.10";
	"172.28.0.0"/24;
}

# And only on the purge listener (-a purge=:6091), which HAProxy never
# sends to: a client's PURGE, however it arrives on the public listener, is
# refused before the ACL is asked.
sub vcl_recv {
	if (req.method == "PURGE" && local.socket != "purge") {
		return (synth(405, "Method Not Allowed"));
	}
}
