vcl 4.1;

# Vitrine's edge cache (Varnish 7 with varnish-modules' xkey): it keeps
# the public catalog reads Vitrine marks for it (Cache-Control s-maxage)
# and drops them by surrogate key when the catalog changes. See
# docs/operations.md, "The edge cache".
#
# Where the backend is and who may purge is the deployment's: this file
# includes site.vcl (found on varnishd's vcl_path), which defines
#
#   backend vitrine { .host = "..."; .port = "..."; }   # HAProxy or a Vitrine
#   acl purgers { "127.0.0.1"; "::1"; }                   # who may send PURGE
#
# (site.vcl.example beside this file). Start varnishd with
# -p vcl_path=<this directory>:<the directory of site.vcl>.

import std;
import xkey;

include "site.vcl";

sub vcl_recv {
	set req.backend_hint = vitrine;
	unset req.http.X-Vitrine-Edge;
	unset req.http.X-Vitrine-AE;

	# PURGE / with "xkey-purge: key1 key2": drop every object carrying one
	# of the keys (a hard purge: the next read fetches the change, never
	# the old copy). Only from the purgers' addresses.
	if (req.method == "PURGE") {
		if (client.ip !~ purgers) {
			return (synth(403, "Forbidden"));
		}
		if (!req.http.xkey-purge) {
			return (synth(400, "xkey-purge header required"));
		}
		set req.http.X-Purged = xkey.purge(req.http.xkey-purge);
		return (synth(200, "Purged"));
	}

	# Writes, and anything that may be one client's own, go to Vitrine:
	# a request with Authorization (an admin sees drafts, a signed-in user
	# is rate-limited as such), one with a cookie (Vitrine sets none, so it
	# is someone else's session), and the read of a client that has just
	# written, which the load balancer marks (X-Vitrine-Recent-Writer, see
	# internal/modules/reads.go): it must reach the primary.
	if (req.method != "GET" && req.method != "HEAD") {
		return (pass);
	}
	if (req.http.Authorization || req.http.Cookie || req.http.X-Vitrine-Recent-Writer) {
		return (pass);
	}

	# Vitrine answers in zstd, gzip or identity and says Vary:
	# Accept-Encoding. Varnish's own gzip support (http_gzip_support, on by
	# default) rewrites Accept-Encoding after this to "gzip" or nothing, and
	# knows nothing of zstd: the encoding is chosen here, one per request
	# (three variants, not one per spelling of the header), kept in
	# X-Vitrine-AE, hashed on and asked of Vitrine (vcl_backend_fetch).
	# zstd first, as Vitrine prefers it; the client accepts the one chosen.
	if (req.http.Accept-Encoding ~ "(^|,)\s*zstd\s*(,|$|;\s*q=(1|0\.[0-9]*[1-9]))") {
		set req.http.X-Vitrine-AE = "zstd";
	} elseif (req.http.Accept-Encoding ~ "(^|,)\s*gzip\s*(,|$|;\s*q=(1|0\.[0-9]*[1-9]))") {
		set req.http.X-Vitrine-AE = "gzip";
	}

	# A copy past its s-maxage is served no longer while Vitrine answers
	# (the bound on a lost purge); kept a while as a fallback while it
	# does not (beresp.grace below).
	if (std.healthy(req.backend_hint)) {
		set req.grace = 0s;
	}
	return (hash);
}

sub vcl_pass {
	set req.http.X-Vitrine-Edge = "pass";
}

sub vcl_backend_fetch {
	# Ask Vitrine for the encoding chosen in vcl_recv, not the gzip that
	# Varnish's gzip support asks for: the variants are Vitrine's own.
	if (bereq.http.X-Vitrine-Edge != "pass") {
		if (bereq.http.X-Vitrine-AE) {
			set bereq.http.Accept-Encoding = bereq.http.X-Vitrine-AE;
		} else {
			unset bereq.http.Accept-Encoding;
		}
	}
	unset bereq.http.X-Vitrine-AE;
	unset bereq.http.X-Vitrine-Edge;
}

sub vcl_hash {
	# Each encoding is an object of its own.
	if (req.http.X-Vitrine-AE) {
		hash_data(req.http.X-Vitrine-AE);
	}
}

sub vcl_backend_response {
	# Only what Vitrine marks for a shared cache is kept: a public read
	# with s-maxage, or a picture, which never changes at its address.
	# Private and no-store answers, errors and answers to writes carry
	# neither and are fetched each time.
	if (beresp.http.Cache-Control !~ "(^|[ ,])(s-maxage=|immutable)") {
		set beresp.uncacheable = true;
		set beresp.ttl = 10s;
		return (deliver);
	}
	# Keep Vitrine's encoding: never recompress or decompress in Varnish.
	set beresp.do_gzip = false;
	set beresp.do_gunzip = false;
	set beresp.grace = 10m;
	return (deliver);
}

sub vcl_deliver {
	# The keys are for purging here; s-maxage is for this cache, the one
	# purges reach, not for a shared cache in front of it.
	unset resp.http.xkey;
	if (resp.http.Cache-Control ~ "s-maxage") {
		set resp.http.Cache-Control = regsuball(resp.http.Cache-Control, ",?\s*s-maxage=[0-9]+", "");
	}
	if (req.http.X-Vitrine-Edge == "pass") {
		set resp.http.X-Cache = "pass";
	} elseif (obj.hits > 0) {
		set resp.http.X-Cache = "hit";
	} else {
		set resp.http.X-Cache = "miss";
	}
}

sub vcl_synth {
	if (req.method == "PURGE") {
		set resp.http.Content-Type = "text/plain; charset=utf-8";
		if (req.http.X-Purged) {
			set resp.http.X-Purged = req.http.X-Purged;
		}
		set resp.body = resp.reason + {"
"};
		return (deliver);
	}
}
