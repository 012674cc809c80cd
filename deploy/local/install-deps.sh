#!/usr/bin/env bash
# Installs what the local cluster needs beyond the machine's own services:
# HAProxy in front of the instances, Patroni and etcd running PostgreSQL,
# Redis Sentinel, Prometheus scraping them, socat, which the cluster
# test uses to cut one instance's link to NATS, and Varnish with
# varnish-modules (its xkey vmod purges by surrogate key) for the edge
# cache, with prometheus-varnish-exporter for its counters. All come from
# Debian's packages.
set -euo pipefail
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v socat >/dev/null || missing+=(socat)
command -v prometheus >/dev/null || missing+=(prometheus)
command -v patroni >/dev/null || missing+=(patroni)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
command -v varnishd >/dev/null || missing+=(varnish)
# xkey is a vmod, not a command: look for its library.
compgen -G '/usr/lib/*/varnish/vmods/libvmod_xkey.so' >/dev/null || missing+=(varnish-modules)
command -v prometheus-varnish-exporter >/dev/null || missing+=(prometheus-varnish-exporter)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (Debian's packages)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
