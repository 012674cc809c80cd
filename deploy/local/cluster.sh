#!/usr/bin/env bash
# A whole Vitrine cluster on one machine: a PostgreSQL primary and a
# streaming replica, a three-node NATS JetStream cluster, Redis, an
# S3-compatible store for product pictures (Versity's S3 gateway), N
# instances of each service, HAProxy in front and Prometheus scraping every
# instance, all on ports of their own under CLUSTER_DIR, so the machine's
# own PostgreSQL, Redis and NATS are never touched.
#
#   cluster.sh up | down | status | clean
#   cluster.sh scale SERVICE N        add or remove instances while serving
#   cluster.sh failover               stop the primary, promote the replica
#   cluster.sh start|stop|kill|restart NAME   one process (product-1, redis, s3, nats-2, pg-primary, prometheus...)
#   cluster.sh seed N                 N demo products
#   cluster.sh env                    the URLs, as shell assignments
#   cluster.sh build-jaeger           build Jaeger now (up does it once, when missing)
#
# Traces go to Jaeger (query API and UI on CLUSTER_JAEGER_PORT), built once
# from the Go module proxy into ~/.cache/vitrine; CLUSTER_JAEGER=0 leaves it
# out. One request in twenty is traced, and every one whose caller's
# traceparent asks for it, unless OTEL_TRACES_SAMPLER(_ARG) say otherwise.
#
# Every process writes its pid to CLUSTER_DIR/pids/NAME.pid and its log to
# CLUSTER_DIR/logs/NAME.log. See docs/operations.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER_DIR=${CLUSTER_DIR:-$ROOT/.cluster}
mkdir -p "$CLUSTER_DIR"
CLUSTER_DIR=$(cd "$CLUSTER_DIR" && pwd)

export CLUSTER_BIND=${CLUSTER_BIND:-127.0.0.1}
export CLUSTER_PORT=${CLUSTER_PORT:-8088}
export CLUSTER_TLS_PORT=${CLUSTER_TLS_PORT:-8443}
export CLUSTER_STATS_PORT=${CLUSTER_STATS_PORT:-8404}
export CLUSTER_API_PORT=${CLUSTER_API_PORT:-8405}
export CLUSTER_TLS_PEM=$CLUSTER_DIR/tls/cluster.pem
CLUSTER_PG_PORT=${CLUSTER_PG_PORT:-15432}           # the replica listens on the next port
CLUSTER_REDIS_PORT=${CLUSTER_REDIS_PORT:-16379}
CLUSTER_S3_PORT=${CLUSTER_S3_PORT:-19000}
CLUSTER_NATS_PORT=${CLUSTER_NATS_PORT:-14222}       # nats-1..3 on this port and the next two
CLUSTER_NATS_ROUTE_PORT=${CLUSTER_NATS_ROUTE_PORT:-16222}
CLUSTER_NATS_HTTP_PORT=${CLUSTER_NATS_HTTP_PORT:-14822}
CLUSTER_SERVICE_PORT=${CLUSTER_SERVICE_PORT:-18000} # product-i on +100+i, auth +200+i, search +300+i, analytics +400+i; admin +50
CLUSTER_PROMETHEUS_PORT=${CLUSTER_PROMETHEUS_PORT:-19090}
CLUSTER_JAEGER=${CLUSTER_JAEGER:-1}                 # 0: no Jaeger, no tracing
CLUSTER_JAEGER_PORT=${CLUSTER_JAEGER_PORT:-16686}   # query API and UI; its gRPC API on the port before
CLUSTER_JAEGER_OTLP_PORT=${CLUSTER_JAEGER_OTLP_PORT:-14318} # OTLP/HTTP receiver the instances export to
CLUSTER_INSTANCES=${CLUSTER_INSTANCES:-2}
CLUSTER_REPLICA_DELAY=${CLUSTER_REPLICA_DELAY:-}    # e.g. 1s: recovery_min_apply_delay of the replica
CLUSTER_SERVE_ARGS=${CLUSTER_SERVE_ARGS:-}          # more flags for every "vitrine serve"
# CLUSTER_INSTANCE_NATS_URL, when set, replaces the NATS URL of the instances started by this command
MAX_INSTANCES=8                                     # server slots per backend in haproxy.cfg
SERVICES=(auth product search analytics)

PG_BIN=${PG_BIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)}
VITRINE_BIN=${VITRINE_BIN:-$CLUSTER_DIR/bin/vitrine}
HAPROXY_CFG=${HAPROXY_CFG:-$ROOT/deploy/haproxy/haproxy.cfg}
# Jaeger's version is the one deploy/tools/go.mod pins; the binary's name
# carries it, so a new version is built once, beside the old.
JAEGER_VERSION=$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2; exit }' "$ROOT/deploy/tools/go.mod")
JAEGER_BIN=${JAEGER_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/vitrine/jaeger-$JAEGER_VERSION}

PG_PRIMARY_PORT=$CLUSTER_PG_PORT
PG_REPLICA_PORT=$((CLUSTER_PG_PORT + 1))
# Two hosts, tried in order: connections go to the primary while it
# answers; while it is down they go to the replica, which serves reads and
# refuses writes (a 503 with Retry-After); once the replica is promoted
# (cluster.sh failover) the same connections take writes, with no restart.
PG_URL="postgres://postgres@127.0.0.1:$PG_PRIMARY_PORT,127.0.0.1:$PG_REPLICA_PORT/vitrine?target_session_attrs=any&connect_timeout=2&sslmode=disable"
# The replica alone, for the product and analytics reads that may lag
# (--postgres-replica-url): each instance checks it every second and reads
# from the primary while it is down or too far behind. After a failover it
# is the primary, and reads from it are simply current.
PG_REPLICA_URL="postgres://postgres@127.0.0.1:$PG_REPLICA_PORT/vitrine?connect_timeout=2&sslmode=disable"
REDIS_URL="redis://127.0.0.1:$CLUSTER_REDIS_PORT/0"
# Product pictures, shared by every product instance. The gateway's
# credentials are local to the cluster.
S3_BUCKET=vitrine-images
S3_ACCESS_KEY=vitrine-cluster
S3_SECRET_KEY=vitrine-cluster-secret
BLOB_URL="s3://$S3_BUCKET?endpoint=http://127.0.0.1:$CLUSTER_S3_PORT&region=us-east-1&use_path_style=true"
NATS_URL="nats://127.0.0.1:$CLUSTER_NATS_PORT,nats://127.0.0.1:$((CLUSTER_NATS_PORT + 1)),nats://127.0.0.1:$((CLUSTER_NATS_PORT + 2))"
LB_URL="http://$CLUSTER_BIND:$CLUSTER_PORT"
JAEGER_URL="http://127.0.0.1:$CLUSTER_JAEGER_PORT"
OTLP_URL="http://127.0.0.1:$CLUSTER_JAEGER_OTLP_PORT"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# PostgreSQL refuses to run as root: run its commands as the postgres user.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_own() { # paths the PostgreSQL user must own
	if [ "$(id -u)" = 0 ]; then chown -R postgres: "$@"; fi
}

pidfile() { echo "$CLUSTER_DIR/pids/$1.pid"; }
pid_of() { cat "$(pidfile "$1")" 2>/dev/null || true; }
# running PID: the process exists and is not a zombie waiting to be reaped.
running() {
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $state != Z* ]]
}
alive() {
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] && running "$pid"
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s.
wait_until() {
	local limit=$1 what=$2
	shift 2
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			log "timed out after ${limit}s waiting for $what"
			return 1
		fi
		sleep 0.2
	done
}
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# spawn NAME COMMAND...: run COMMAND in its own session, in the background,
# with its pid and log in the usual places.
spawn() {
	local name=$1
	shift
	setsid "$@" >>"$CLUSTER_DIR/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$(pidfile "$name")"
}

# stop_pid NAME SIGNAL SECONDS: signal the process, wait for it to exit,
# and kill it if it has not after SECONDS.
stop_pid() {
	local name=$1 sig=$2 limit=$3 pid
	pid=$(pid_of "$name")
	if [ -n "$pid" ] && running "$pid"; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + limit))
		while running "$pid"; do
			if [ $SECONDS -ge $deadline ]; then
				log "$name did not stop after ${limit}s; killing it"
				kill -9 "$pid" 2>/dev/null || true
			fi
			sleep 0.1
		done
	fi
	rm -f "$(pidfile "$name")"
}

# --- HAProxy runtime API ---------------------------------------------------

hap() { # one runtime API command; prints the answer
	local fd
	exec {fd}<>"/dev/tcp/$CLUSTER_BIND/$CLUSTER_API_PORT"
	printf '%s\n' "$*" >&"$fd"
	cat <&"$fd"
	exec {fd}>&-
}
# hap_field BACKEND SERVER FIELD: a column of "show stat" (status, scur...).
hap_field() {
	hap "show stat" | awk -F, -v be="$1" -v sv="$2" -v f="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == be && $2 == sv { print $col[f] }' | head -n 1
}
hap_up() { [ "$(hap_field "$1" "$2" status)" = UP ]; }
hap_not_up() { ! hap_up "$@"; }

# --- ports and names -------------------------------------------------------

service_base() {
	case $1 in
	product) echo $((CLUSTER_SERVICE_PORT + 100)) ;;
	auth) echo $((CLUSTER_SERVICE_PORT + 200)) ;;
	search) echo $((CLUSTER_SERVICE_PORT + 300)) ;;
	analytics) echo $((CLUSTER_SERVICE_PORT + 400)) ;;
	*) die "unknown service $1" ;;
	esac
}
instance_port() { echo $(($(service_base "$1") + $2)); }
instance_admin_port() { echo $(($(service_base "$1") + 50 + $2)); }
instances_of() { # the numbers of the running instances of a service
	local f
	for f in "$CLUSTER_DIR"/pids/"$1"-*.pid; do
		[ -e "$f" ] || continue
		f=${f##*/}
		f=${f%.pid}
		alive "$f" && echo "${f##*-}"
	done | sort -n
}

# --- the pieces ------------------------------------------------------------

build() {
	if [ -n "${VITRINE_BIN_PREBUILT:-}" ]; then return 0; fi
	log "building vitrine"
	(cd "$ROOT" && go build -o "$VITRINE_BIN" ./cmd/vitrine)
}

# build_jaeger builds Jaeger once: its dependencies are many, so the build
# takes minutes, at the lowest priority, and is kept for every later run.
# One build at a time: a second caller waits for the first (make test
# starts one early, in the background, and cluster-test waits for it).
build_jaeger() {
	[ -x "$JAEGER_BIN" ] && return 0
	mkdir -p "$(dirname "$JAEGER_BIN")"
	(
		flock 9
		[ -x "$JAEGER_BIN" ] && exit 0
		log "building Jaeger $JAEGER_VERSION into $JAEGER_BIN (once; this takes minutes)"
		cd "$ROOT/deploy/tools" && nice -n 19 go build -o "$JAEGER_BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger &&
			mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
	) 9>"$JAEGER_BIN.lock"
}

start_jaeger() {
	alive jaeger && return 0
	spawn jaeger env JAEGER_OTLP_ADDR="127.0.0.1:$CLUSTER_JAEGER_OTLP_PORT" \
		JAEGER_QUERY_ADDR="127.0.0.1:$CLUSTER_JAEGER_PORT" JAEGER_QUERY_GRPC_ADDR="127.0.0.1:$((CLUSTER_JAEGER_PORT - 1))" \
		"$JAEGER_BIN" --config "$ROOT/deploy/local/jaeger.yaml"
	wait_until 60 Jaeger http_ok "$JAEGER_URL/api/services" ||
		{ tail -n 20 "$CLUSTER_DIR/logs/jaeger.log" >&2; return 1; }
	wait_until 30 "Jaeger's OTLP receiver" tcp_open "$CLUSTER_JAEGER_OTLP_PORT"
}

make_cert() {
	[ -s "$CLUSTER_TLS_PEM" ] && return 0
	mkdir -p "$CLUSTER_DIR/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$CLUSTER_DIR/tls/key.pem" -out "$CLUSTER_DIR/tls/cert.pem" 2>/dev/null
	cat "$CLUSTER_DIR/tls/cert.pem" "$CLUSTER_DIR/tls/key.pem" >"$CLUSTER_TLS_PEM"
	chmod 600 "$CLUSTER_TLS_PEM" "$CLUSTER_DIR/tls/key.pem"
}

pg_conf() { # DIR PORT: the settings both servers share
	cat >>"$1/postgresql.conf" <<-EOF
		port = $2
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$CLUSTER_DIR/pgrun'
		wal_level = replica
		max_wal_senders = 10
		hot_standby = on
		hot_standby_feedback = on
		wal_keep_size = 256MB
		max_connections = 300
		shared_buffers = 128MB
		log_min_messages = warning
	EOF
}

start_pg() { # primary | replica
	local role=$1 dir=$CLUSTER_DIR/pg-$1 port
	port=$([ "$role" = primary ] && echo "$PG_PRIMARY_PORT" || echo "$PG_REPLICA_PORT")
	alive "pg-$role" && return 0
	mkdir -p "$CLUSTER_DIR/pgrun"
	touch "$CLUSTER_DIR/logs/pg-$role.log"
	pg_own "$CLUSTER_DIR/pgrun" "$CLUSTER_DIR/logs/pg-$role.log"
	if [ ! -s "$dir/PG_VERSION" ]; then
		mkdir -p "$dir"
		chmod 700 "$dir"
		pg_own "$dir"
		if [ "$role" = primary ]; then
			as_pg "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust --no-sync >/dev/null
			pg_conf "$dir" "$port"
		else
			as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -D "$dir" -R -X stream -c fast
			# The copy carries the primary's port: this server's own comes last and wins.
			pg_conf "$dir" "$port"
			if [ -n "$CLUSTER_REPLICA_DELAY" ]; then
				echo "recovery_min_apply_delay = '$CLUSTER_REPLICA_DELAY'" >>"$dir/postgresql.conf"
			fi
		fi
		pg_own "$dir"
	fi
	as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$CLUSTER_DIR/logs/pg-$role.log" -w -t 60 start >/dev/null
	head -n 1 "$dir/postmaster.pid" >"$(pidfile "pg-$role")"
	if [ "$role" = primary ]; then
		psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'vitrine'" | grep -q 1 ||
			psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE vitrine"
	fi
}

stop_pg() { # primary | replica, [fast|immediate]
	local dir=$CLUSTER_DIR/pg-$1
	if alive "pg-$1"; then
		as_pg "$PG_BIN/pg_ctl" -D "$dir" -m "${2:-fast}" -w -t 30 stop >/dev/null || true
	fi
	rm -f "$(pidfile "pg-$1")"
}

start_nats() { # 1..3
	local i=$1 name=nats-$1 conf=$CLUSTER_DIR/nats/nats-$1.conf
	alive "$name" && return 0
	mkdir -p "$CLUSTER_DIR/nats/$name"
	cat >"$conf" <<-EOF
		server_name: $name
		listen: 127.0.0.1:$((CLUSTER_NATS_PORT + i - 1))
		http: 127.0.0.1:$((CLUSTER_NATS_HTTP_PORT + i - 1))
		jetstream { store_dir: "$CLUSTER_DIR/nats/$name", max_memory_store: 256MB, max_file_store: 2GB }
		cluster {
		  name: vitrine
		  listen: 127.0.0.1:$((CLUSTER_NATS_ROUTE_PORT + i - 1))
		  routes: [
		    nats-route://127.0.0.1:$CLUSTER_NATS_ROUTE_PORT
		    nats-route://127.0.0.1:$((CLUSTER_NATS_ROUTE_PORT + 1))
		    nats-route://127.0.0.1:$((CLUSTER_NATS_ROUTE_PORT + 2))
		  ]
		}
	EOF
	spawn "$name" nats-server -c "$conf"
}
nats_healthy() { http_ok "http://127.0.0.1:$((CLUSTER_NATS_HTTP_PORT + $1 - 1))/healthz"; }

start_redis() {
	alive redis && return 0
	mkdir -p "$CLUSTER_DIR/redis"
	spawn redis redis-server --bind 127.0.0.1 --port "$CLUSTER_REDIS_PORT" --save "" --appendonly no \
		--dir "$CLUSTER_DIR/redis" --daemonize no
	wait_until 20 Redis tcp_open "$CLUSTER_REDIS_PORT"
}

# start_s3: the S3 gateway over CLUSTER_DIR/s3, whose directories are its
# buckets. deploy/local/install-s3.sh builds it once (a few minutes).
start_s3() {
	alive s3 && return 0
	"$ROOT/deploy/local/install-s3.sh" || die "the S3 gateway could not be built (deploy/local/install-s3.sh)"
	mkdir -p "$CLUSTER_DIR/s3/$S3_BUCKET"
	spawn s3 "${VITRINE_CACHE:-$HOME/.cache/vitrine}/bin/versitygw" --access "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" \
		--port "127.0.0.1:$CLUSTER_S3_PORT" --quiet posix "$CLUSTER_DIR/s3"
	wait_until 20 "the S3 gateway" tcp_open "$CLUSTER_S3_PORT"
}

start_haproxy() {
	alive haproxy && return 0
	command -v haproxy >/dev/null || "$ROOT/deploy/local/install-deps.sh" ||
		die "haproxy is not installed and could not be installed (apt-get install -y haproxy)"
	haproxy -c -q -f "$HAPROXY_CFG" || die "haproxy.cfg does not parse"
	spawn haproxy haproxy -W -db -f "$HAPROXY_CFG"
	wait_until 20 HAProxy tcp_open "$CLUSTER_API_PORT"
}

# --- Prometheus ---------------------------------------------------------------

PROM_DIR=$CLUSTER_DIR/prometheus
PROM_URL=http://127.0.0.1:$CLUSTER_PROMETHEUS_PORT

# write_targets: the scrape targets of Prometheus (file_sd, see
# deploy/observability/prometheus.yml), one file per service listing its
# running instances' admin addresses. Written whole, then moved into place,
# so Prometheus never reads half a file. Written when an instance starts or
# stops: a killed one stays listed until then (a crash shows as up == 0).
write_targets() {
	local svc i sep
	mkdir -p "$PROM_DIR/targets"
	for svc in "${SERVICES[@]}"; do
		{
			printf '['
			sep=
			for i in $(instances_of "$svc"); do
				printf '%s\n  {"targets": ["127.0.0.1:%s"], "labels": {"service": "%s", "instance": "%s-%s"}}' \
					"$sep" "$(instance_admin_port "$svc" "$i")" "$svc" "$svc" "$i"
				sep=,
			done
			printf '\n]\n'
		} >"$PROM_DIR/targets/$svc.json.new"
		mv "$PROM_DIR/targets/$svc.json.new" "$PROM_DIR/targets/$svc.json"
	done
}

# start_prometheus: Debian's prometheus with a copy of the configuration
# and rules of deploy/observability (the targets' paths are relative to
# the configuration file, so they live beside the copy).
start_prometheus() {
	alive prometheus && return 0
	command -v prometheus >/dev/null || "$ROOT/deploy/local/install-deps.sh" ||
		die "prometheus is not installed and could not be installed (apt-get install -y prometheus)"
	mkdir -p "$PROM_DIR/rules" "$PROM_DIR/data"
	cp "$ROOT/deploy/observability/prometheus.yml" "$PROM_DIR/prometheus.yml"
	cp "$ROOT/deploy/observability/rules/recording.yml" "$ROOT/deploy/observability/rules/alerts.yml" "$PROM_DIR/rules/"
	write_targets
	spawn prometheus prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
		--web.listen-address="127.0.0.1:$CLUSTER_PROMETHEUS_PORT" --storage.tsdb.retention.time=7d
	wait_until 30 Prometheus http_ok "$PROM_URL/-/ready"
}

# serve_args SERVICE I: the flags of one instance.
serve_args() {
	local svc=$1 i=$2
	echo serve --target="$svc" --addr "127.0.0.1:$(instance_port "$svc" "$i")" \
		--admin-addr "127.0.0.1:$(instance_admin_port "$svc" "$i")" \
		--data-dir "$CLUSTER_DIR/data/$svc-$i" --postgres-url "$PG_URL" --nats-url "${CLUSTER_INSTANCE_NATS_URL:-$NATS_URL}" \
		--redis-url "$REDIS_URL" --stream-replicas 3 --trusted-proxies 127.0.0.1/32 \
		--drain-delay 2s --shutdown-timeout 15s
	[ "$CLUSTER_JAEGER" = 0 ] || echo --otlp-endpoint "$OTLP_URL"
	[ "$svc" = auth ] || echo --auth-url "$LB_URL"
	case $svc in product | analytics) echo --postgres-replica-url "$PG_REPLICA_URL" ;; esac
	[ "$svc" = product ] && echo --blob-url "$BLOB_URL"
	return 0
}

start_instance() { # SERVICE I
	local svc=$1 i=$2 name=$1-$2 port
	[ "$i" -ge 1 ] && [ "$i" -le $MAX_INSTANCES ] || die "$svc: instances are numbered 1 to $MAX_INSTANCES"
	port=$(instance_port "$svc" "$i")
	if ! alive "$name"; then
		mkdir -p "$CLUSTER_DIR/data/$name"
		# shellcheck disable=SC2046,SC2086 # word splitting wanted
		spawn "$name" env VITRINE_CURSOR_SECRET="$(cat "$CLUSTER_DIR/cursor-secret")" \
			OTEL_TRACES_SAMPLER="${OTEL_TRACES_SAMPLER:-parentbased_traceidratio}" \
			OTEL_TRACES_SAMPLER_ARG="${OTEL_TRACES_SAMPLER_ARG:-0.05}" \
			AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" \
			"$VITRINE_BIN" $(serve_args "$svc" "$i") $CLUSTER_SERVE_ARGS
		wait_until 60 "$name to answer /readyz" http_ok "http://127.0.0.1:$port/readyz" ||
			{ tail -n 20 "$CLUSTER_DIR/logs/$name.log" >&2; return 1; }
	fi
	hap "set server $svc/$name addr 127.0.0.1 port $port" >/dev/null
	hap "set server $svc/$name state ready" >/dev/null
	wait_until 30 "HAProxy to mark $name up" hap_up "$svc" "$name"
	write_targets
}

# stop_instance SERVICE I: drain it in HAProxy, let it finish its requests
# (SIGTERM: /readyz turns 503, in-flight requests end), then park its slot.
stop_instance() {
	local svc=$1 i=$2 name=$1-$2
	if tcp_open "$CLUSTER_API_PORT"; then
		hap "set server $svc/$name state drain" >/dev/null || true
		wait_until 10 "$name to have no request in flight" test "$(hap_field "$svc" "$name" scur)" = 0 || true
	fi
	stop_pid "$name" TERM 30
	if tcp_open "$CLUSTER_API_PORT"; then
		hap "set server $svc/$name state maint" >/dev/null || true
	fi
	write_targets
}

# restart_instance SERVICE I: SIGTERM, start again, wait until HAProxy
# sends it traffic. HAProxy keeps the slot enabled: its health checks take
# the instance out while it drains and back once it is ready.
restart_instance() {
	local svc=$1 i=$2 name=$1-$2
	stop_pid "$name" TERM 30
	wait_until 10 "HAProxy to mark $name down" hap_not_up "$svc" "$name" || true
	start_instance "$svc" "$i"
}

# --- commands --------------------------------------------------------------

cmd_up() {
	mkdir -p "$CLUSTER_DIR"/{pids,logs,nats,data,bin}
	chmod 755 "$CLUSTER_DIR"
	build
	[ "$CLUSTER_JAEGER" = 0 ] || build_jaeger
	make_cert
	[ -s "$CLUSTER_DIR/cursor-secret" ] || openssl rand -hex 32 >"$CLUSTER_DIR/cursor-secret"
	log "PostgreSQL primary on $PG_PRIMARY_PORT, replica on $PG_REPLICA_PORT"
	start_pg primary
	start_pg replica
	log "NATS cluster on $CLUSTER_NATS_PORT-$((CLUSTER_NATS_PORT + 2))"
	for i in 1 2 3; do start_nats "$i"; done
	for i in 1 2 3; do wait_until 60 "nats-$i" nats_healthy "$i"; done
	log "Redis on $CLUSTER_REDIS_PORT"
	start_redis
	if [ "$CLUSTER_JAEGER" != 0 ]; then
		log "Jaeger on $CLUSTER_JAEGER_PORT (OTLP on $CLUSTER_JAEGER_OTLP_PORT)"
		start_jaeger
	fi
	log "S3 (pictures) on $CLUSTER_S3_PORT"
	start_s3
	log "HAProxy on $CLUSTER_PORT (TLS $CLUSTER_TLS_PORT, stats $CLUSTER_STATS_PORT)"
	start_haproxy
	log "Prometheus on $CLUSTER_PROMETHEUS_PORT"
	start_prometheus
	"$VITRINE_BIN" migrate --postgres-url "$PG_URL" >/dev/null
	if [ -n "${CLUSTER_ADMIN_EMAIL:-}" ] && [ -n "${CLUSTER_ADMIN_PASSWORD:-}" ]; then
		"$VITRINE_BIN" user create --postgres-url "$PG_URL" --email "$CLUSTER_ADMIN_EMAIL" \
			--password "$CLUSTER_ADMIN_PASSWORD" --role admin 2>&1 | grep -v 'already' >&2 || true
	fi
	# Auth first: the others fetch its JWKS through HAProxy when they start.
	for svc in "${SERVICES[@]}"; do
		log "$CLUSTER_INSTANCES x $svc"
		for i in $(seq 1 "$CLUSTER_INSTANCES"); do start_instance "$svc" "$i"; done
	done
	cmd_status
}

cmd_down() {
	local name
	for svc in "${SERVICES[@]}"; do
		for i in $(seq 1 $MAX_INSTANCES); do
			alive "$svc-$i" && stop_pid "$svc-$i" TERM 20 &
		done
	done
	wait
	for name in prometheus haproxy redis s3 nats-1 nats-2 nats-3 jaeger; do stop_pid "$name" TERM 20; done
	stop_pg replica
	stop_pg primary
	rm -f "$CLUSTER_DIR"/pids/*.pid
	log "stopped (data kept in $CLUSTER_DIR; 'make cluster-clean' removes it)"
}

cmd_status() {
	local f name pid state health
	printf '%-12s %-8s %-6s %s\n' NAME PID STATE HEALTH
	for f in "$CLUSTER_DIR"/pids/*.pid; do
		[ -e "$f" ] || continue
		name=${f##*/}
		name=${name%.pid}
		pid=$(pid_of "$name")
		state=down
		alive "$name" && state=up
		health=-
		if [ $state = up ]; then
			case $name in
			pg-*)
				local port=$PG_PRIMARY_PORT
				[ "$name" = pg-replica ] && port=$PG_REPLICA_PORT
				health=$(psql -h 127.0.0.1 -p "$port" -U postgres -tAc \
					"SELECT CASE WHEN pg_is_in_recovery() THEN 'replica, '||coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text, '?')||' bytes received not yet applied' ELSE 'primary (read-write)' END" 2>/dev/null || echo unreachable) ;;
			nats-*) nats_healthy "${name#nats-}" && health=healthy || health=unhealthy ;;
			redis) tcp_open "$CLUSTER_REDIS_PORT" && health=listening || health=unreachable ;;
			s3) tcp_open "$CLUSTER_S3_PORT" && health=listening || health=unreachable ;;
			haproxy) health="http://$CLUSTER_BIND:$CLUSTER_PORT https://$CLUSTER_BIND:$CLUSTER_TLS_PORT" ;;
			prometheus) http_ok "$PROM_URL/-/ready" && health="ready, $PROM_URL/" || health=unready ;;
			jaeger) http_ok "$JAEGER_URL/api/services" && health="$JAEGER_URL (OTLP $OTLP_URL)" || health=unreachable ;;
			*)
				local svc=${name%-*}
				health="haproxy $(hap_field "$svc" "$name" status 2>/dev/null || echo ?), :$(instance_port "$svc" "${name##*-}") admin :$(instance_admin_port "$svc" "${name##*-}")" ;;
			esac
		fi
		printf '%-12s %-8s %-6s %s\n' "$name" "$pid" "$state" "$health"
	done | sort
	cat <<-EOF

		load balancer  $LB_URL  https://$CLUSTER_BIND:$CLUSTER_TLS_PORT (self-signed: $CLUSTER_DIR/tls/cert.pem)
		stats page     http://$CLUSTER_BIND:$CLUSTER_STATS_PORT/
		Prometheus     $PROM_URL/  (targets: $PROM_URL/targets, alerts: $PROM_URL/alerts)
		PostgreSQL     $PG_URL
		read replica   $PG_REPLICA_URL
		NATS           $NATS_URL
		Redis          $REDIS_URL
		traces         $JAEGER_URL (Jaeger; 'make cluster-up CLUSTER_JAEGER=0' runs without)
		pictures       $BLOB_URL
		logs           $CLUSTER_DIR/logs/NAME.log
	EOF
}

cmd_scale() { # SERVICE N
	local svc=${1:?SERVICE} n=${2:?N} i
	service_base "$svc" >/dev/null
	[ "$n" -ge 1 ] && [ "$n" -le $MAX_INSTANCES ] || die "N must be between 1 and $MAX_INSTANCES"
	for i in $(seq 1 "$n"); do alive "$svc-$i" || { log "starting $svc-$i"; start_instance "$svc" "$i"; }; done
	for i in $(instances_of "$svc" | sort -rn); do
		if [ "$i" -gt "$n" ]; then
			log "draining and stopping $svc-$i"
			stop_instance "$svc" "$i"
		fi
	done
	log "$svc: $(instances_of "$svc" | wc -l) instance(s)"
}

cmd_failover() {
	log "stopping the primary (fencing it), promoting the replica"
	# A fast shutdown sends the replica every WAL record first, so no
	# acknowledged write is lost when the primary is still there to stop.
	stop_pg primary fast
	as_pg "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/pg-replica" -w -t 60 promote >/dev/null
	log "the replica on $PG_REPLICA_PORT is now the primary; Vitrine finds it through target_session_attrs=read-write"
}

# cmd_proc ACTION NAME: start, stop (SIGTERM), kill (SIGKILL) or restart one process.
cmd_proc() {
	local action=$1 name=${2:?NAME}
	case $name in
	pg-primary | pg-replica)
		case $action in
		start) start_pg "${name#pg-}" ;;
		stop) stop_pg "${name#pg-}" fast ;;
		kill) stop_pg "${name#pg-}" immediate ;;
		restart) stop_pg "${name#pg-}" fast && start_pg "${name#pg-}" ;;
		esac ;;
	nats-[123])
		# A node alone is not healthy until a quorum of the cluster is up:
		# wait for its port only ("status" shows its health).
		local nport=$((CLUSTER_NATS_PORT + ${name#nats-} - 1))
		case $action in
		start) start_nats "${name#nats-}" && wait_until 30 "$name" tcp_open "$nport" ;;
		stop | restart) stop_pid "$name" TERM 20 ;;&
		kill) stop_pid "$name" KILL 5 ;;
		restart) start_nats "${name#nats-}" && wait_until 30 "$name" tcp_open "$nport" ;;
		esac ;;
	redis | s3 | prometheus) # one process each, started by start_NAME
		case $action in
		start) "start_$name" ;;
		stop | restart) stop_pid "$name" TERM 20 ;;&
		kill) stop_pid "$name" KILL 5 ;;
		restart) "start_$name" ;;
		esac ;;
	haproxy)
		die "haproxy keeps its server slots in memory: use 'down' and 'up' to restart it" ;;
	*-[0-9]*)
		local svc=${name%-*} i=${name##*-}
		service_base "$svc" >/dev/null
		case $action in
		start) start_instance "$svc" "$i" ;;
		stop) stop_instance "$svc" "$i" ;;
		kill) stop_pid "$name" KILL 5 ;;
		restart) restart_instance "$svc" "$i" ;;
		esac ;;
	*) die "unknown process $name" ;;
	esac
}

cmd_env() {
	cat <<-EOF
		CLUSTER_URL=$LB_URL
		CLUSTER_TLS_URL=https://$CLUSTER_BIND:$CLUSTER_TLS_PORT
		CLUSTER_STATS_URL=http://$CLUSTER_BIND:$CLUSTER_STATS_PORT/
		CLUSTER_PROMETHEUS_URL=$PROM_URL
		CLUSTER_POSTGRES_URL='$PG_URL'
		CLUSTER_POSTGRES_REPLICA_URL='$PG_REPLICA_URL'
		CLUSTER_NATS_URL=$NATS_URL
		CLUSTER_REDIS_URL=$REDIS_URL
		CLUSTER_BLOB_URL='$BLOB_URL'
		CLUSTER_VITRINE_BIN=$VITRINE_BIN
		CLUSTER_JAEGER_URL=$JAEGER_URL
		CLUSTER_OTLP_URL=$OTLP_URL
	EOF
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
clean) cmd_down && rm -rf "$CLUSTER_DIR" ;;
scale) shift && cmd_scale "$@" ;;
failover) cmd_failover ;;
start | stop | kill | restart) cmd_proc "$@" ;;
seed) # the pictures go to the S3 store the product instances read
	AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" \
		"$VITRINE_BIN" seed --postgres-url "$PG_URL" --blob-url "$BLOB_URL" --products "${2:-1000}" ;;
env) cmd_env ;;
build-jaeger) build_jaeger && echo "$JAEGER_BIN" ;;
*) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2 && exit 2 ;;
esac
