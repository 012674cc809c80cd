#!/bin/sh
# Redis with Sentinel in the StatefulSet vitrine-redis (redis.yaml beside
# this file), run by the redis image's busybox sh:
#
#   redis.sh redis      start Redis: a replica of the primary the other pods'
#                       Sentinels name, or the primary itself when they name
#                       this pod; when no Sentinel answers (the first start),
#                       pod 0 is the primary
#   redis.sh sentinel   start a Sentinel watching that primary
#   redis.sh prestop    before Redis stops: if it is the primary, have the
#                       Sentinels fail over to a replica, and wait for it
#   redis.sh ping PORT  a probe: the server on PORT answers PONG
#
# Servers and Sentinels announce their pod's DNS name
# (vitrine-redis-N.vitrine-redis-headless), which stays when the pod moves,
# rather than its address, which does not. Nothing is persisted: Vitrine
# keeps a cache and rate limits there. The StatefulSet sets POD_NAME,
# HEADLESS, REPLICAS, MASTER_NAME and SENTINEL_*; the password is a file.
set -eu

self="$POD_NAME.$HEADLESS"
set_name="${POD_NAME%-*}"
REDISCLI_AUTH="$(cat /run/secrets/redis/password)"
export REDISCLI_AUTH

# sentinels asks each other pod's Sentinel, in turn, the command given, and
# prints the first answer.
sentinels() {
	i=0
	while [ "$i" -lt "$REPLICAS" ]; do
		host="$set_name-$i.$HEADLESS"
		i=$((i + 1))
		[ "$host" = "$self" ] && continue
		answer="$(timeout 3 redis-cli -h "$host" -p 26379 "$@" 2>/dev/null | head -n 1)" || answer=""
		if [ -n "$answer" ]; then
			echo "$answer"
			return 0
		fi
	done
	return 1
}

# primary prints the primary's host name.
primary() {
	sentinels sentinel get-master-addr-by-name "$MASTER_NAME" || echo "$set_name-0.$HEADLESS"
}

# config writes a configuration file readable by this user alone: it holds
# the password.
config() {
	umask 077
	cat >"$1"
}

start_redis() {
	master="$(primary)"
	config /run/redis/redis.conf <<-EOF
		port 6379
		dir /data
		save ""
		appendonly no
		requirepass $REDISCLI_AUTH
		masterauth $REDISCLI_AUTH
		replica-announce-ip $self
		maxmemory $MAXMEMORY
		maxmemory-policy allkeys-lru
	EOF
	if [ "$master" != "$self" ]; then
		echo "replicaof $master 6379" >>/run/redis/redis.conf
	fi
	echo "redis: starting as $([ "$master" = "$self" ] && echo primary || echo "replica of $master")"
	exec redis-server /run/redis/redis.conf
}

start_sentinel() {
	master="$(primary)"
	config /run/sentinel/sentinel.conf <<-EOF
		port 26379
		dir /run/sentinel
		sentinel resolve-hostnames yes
		sentinel announce-hostnames yes
		sentinel announce-ip $self
		sentinel announce-port 26379
		requirepass $REDISCLI_AUTH
		sentinel sentinel-pass $REDISCLI_AUTH
		sentinel monitor $MASTER_NAME $master 6379 $SENTINEL_QUORUM
		sentinel auth-pass $MASTER_NAME $REDISCLI_AUTH
		sentinel down-after-milliseconds $MASTER_NAME $SENTINEL_DOWN_AFTER_MS
		sentinel failover-timeout $MASTER_NAME $SENTINEL_FAILOVER_TIMEOUT_MS
		sentinel parallel-syncs $MASTER_NAME 1
	EOF
	echo "sentinel: watching $master"
	exec redis-server /run/sentinel/sentinel.conf --sentinel
}

# prestop hands the primary's role over before the pod goes (a drain, a
# rolling update), so that writes stop for a failover's second rather than
# for the Sentinels' down-after time. Bounded: the grace period is 30 s.
prestop() {
	[ "$(redis-cli -p 6379 role | head -n 1)" = master ] || return 0
	sentinels sentinel failover "$MASTER_NAME" >/dev/null || return 0
	i=0
	while [ "$i" -lt 20 ] && [ "$(redis-cli -p 6379 role | head -n 1)" = master ]; do
		sleep 1
		i=$((i + 1))
	done
}

case "${1:-}" in
redis) start_redis ;;
sentinel) start_sentinel ;;
prestop) prestop ;;
ping) [ "$(timeout 2 redis-cli -p "$2" ping)" = PONG ] ;;
*)
	echo "usage: redis.sh redis|sentinel|prestop|ping PORT" >&2
	exit 2
	;;
esac
