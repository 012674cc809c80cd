#!/usr/bin/env bash
# Installs what the local cluster needs beyond the machine's own services:
# HAProxy in front of the instances, Patroni and etcd running PostgreSQL,
# Redis Sentinel, Prometheus scraping them, and socat, which the cluster
# test uses to cut one instance's link to NATS. All come from Debian's
# packages.
set -euo pipefail
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v socat >/dev/null || missing+=(socat)
command -v prometheus >/dev/null || missing+=(prometheus)
command -v patroni >/dev/null || missing+=(patroni)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (Debian's packages)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
