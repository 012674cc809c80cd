#!/usr/bin/env bash
# Capacity per core: for each public read, the seed mix and search, the
# highest request rate a Vitrine serves with p99 under a bound (50 ms) and
# no errors, with the server and the load generator each held to a CPU
# budget of their own (the kernel's CPU controller, as the cluster's
# overload test does), so that what one spends never hides in the other.
# The rate is found in the open model (vitrine bench --rate: latency counts
# from each request's due time, so a stalled server is not flattered):
# doubled from --start until it fails, then halved between the last pass
# and the first failure. See docs/capacity.md.
#
#   deploy/capacity/measure.sh --target http://127.0.0.1:8080 --server-pids "1234 5678" \
#       [--server-cores 1] [--client-cores 1] [--p99-ms 50] [--only product,browse] \
#       [--admin-token-file FILE]
#
# With --admin-token-file (an admin's access token), writes too: product
# creations with wrk (a POST needs a body of its own each time, which
# vitrine bench does not send), 1, 2, 4... connections back to back; the
# rate of the most that keeps p99 under the bound.
#
# The server's processes (every process of what is measured: the
# all-in-one vitrine; an instance; Varnish and the instance behind it) go
# into the server's budget; the generator into the client's. It prints one
# line per workload: its name, the rate found, that rate per server core,
# and the p99 at that rate. Root, Linux, cgroup v1 or v2 with the cpu
# controller. The budgets are removed on exit.
set -euo pipefail

target=http://127.0.0.1:8080
server_pids=""
server_cores=1
client_cores=1
p99_ms=50
only=""
token_file=""
vitrine=${VITRINE_BIN:-vitrine}
start=250
measure=8s
warmup=3s
while [ $# -gt 0 ]; do
	case $1 in
	--target) target=$2; shift 2 ;;
	--server-pids) server_pids=$2; shift 2 ;;
	--server-cores) server_cores=$2; shift 2 ;;
	--client-cores) client_cores=$2; shift 2 ;;
	--p99-ms) p99_ms=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--admin-token-file) token_file=$2; shift 2 ;;
	--start) start=$2; shift 2 ;;
	--duration) measure=$2; shift 2 ;;
	*) echo "measure.sh: unknown flag $1" >&2; exit 2 ;;
	esac
done
[ -n "$server_pids" ] || { echo "measure.sh: --server-pids is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "measure.sh: python3 reads the reports" >&2; exit 2; }

# budget NAME CORES: a group whose processes together get CORES of CPU;
# prints the file to write pids to.
period=10000 # µs: a short period bounds the stalls of a group past its quota
budget() {
	local name=vitrine-capacity-$$-$1 quota
	quota=$(python3 -c "print(int($2 * $period))")
	if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
		mkdir -p "/sys/fs/cgroup/cpu/$name"
		echo "$period" >"/sys/fs/cgroup/cpu/$name/cpu.cfs_period_us"
		echo "$quota" >"/sys/fs/cgroup/cpu/$name/cpu.cfs_quota_us"
		echo "/sys/fs/cgroup/cpu/$name"
	elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
		mkdir -p "/sys/fs/cgroup/$name"
		echo "$quota $period" >"/sys/fs/cgroup/$name/cpu.max"
		echo "/sys/fs/cgroup/$name"
	else
		echo "measure.sh: no CPU controller (cgroup v1 cpu or v2 with cpu): run as root on Linux" >&2
		exit 1
	fi
}
root_procs() {
	if [ -f /sys/fs/cgroup/cpu/cgroup.procs ]; then echo /sys/fs/cgroup/cpu/cgroup.procs; else echo /sys/fs/cgroup/cgroup.procs; fi
}
# join DIR PID: the process and its children, every thread.
join() {
	local p
	for p in $2 $(pgrep -P "$2" || true); do
		echo "$p" >"$1/cgroup.procs" 2>/dev/null || true
	done
}
server_group=$(budget server "$server_cores")
client_group=$(budget client "$client_cores")
cleanup() {
	local g p
	for g in "$server_group" "$client_group"; do
		while read -r p; do echo "$p" >"$(root_procs)" 2>/dev/null || true; done <"$g/cgroup.procs"
		rmdir "$g" 2>/dev/null || true
	done
}
trap cleanup EXIT
for pid in $server_pids; do join "$server_group" "$pid"; done

# run RATE ARGS...: one open-model run from inside the client's budget;
# prints "p99_ms errors throughput".
run() {
	local rate=$1
	shift
	(
		echo "$BASHPID" >"$client_group/cgroup.procs"
		exec "$vitrine" bench --target "$target" --rate "$rate" --duration "$measure" --warmup "$warmup" \
			--conns 512 --source-addrs 127.0.9.0/24 --json "$@"
	) 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
missed = r.get("missed_slots", 0) + r.get("unfinished", 0)
print("%.1f %d %.0f" % (r["latency_us"]["p99"] / 1000, r["errors"] + missed, r["throughput_rps"]))'
}

# under_bound P99: whether a p99 (ms, a decimal) is under the bound.
under_bound() { python3 -c "import sys; sys.exit(0 if $1 < $p99_ms else 1)"; }

# find NAME ARGS...: the highest rate with p99 under the bound and no error.
find_rate() {
	local name=$1 pass=0 pass_p99=- fail=0 rate=$start p99 errs rps i
	shift
	if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then return; fi
	while :; do
		read -r p99 errs rps < <(run "$rate" "$@")
		if [ "$errs" -eq 0 ] && under_bound "$p99"; then
			pass=$rate pass_p99=$p99
			rate=$((rate * 2))
		else
			fail=$rate
			break
		fi
		[ "$rate" -le 200000 ] || break
	done
	for i in 1 2 3; do
		[ "$fail" -gt 0 ] || break
		rate=$(((pass + fail) / 2))
		read -r p99 errs rps < <(run "$rate" "$@")
		if [ "$errs" -eq 0 ] && under_bound "$p99"; then
			pass=$rate pass_p99=$p99
		else
			fail=$rate
		fi
		echo "  $name: $i: $rate/s p99 ${p99} ms, $errs errors, $rps/s served" >&2
	done
	printf '%-12s %8d/s %8.0f/s per core  p99 %s ms\n' "$name" "$pass" \
		"$(python3 -c "print($pass / $server_cores)")" "$pass_p99"
}

find_rate product --mix product=1
find_rate browse --mix browse=1
find_rate bestsellers --mix bestsellers=1
find_rate categories --path /api/categories
find_rate search --mix search=1
find_rate seed-mix --mix browse=40,product=30,search=20,bestsellers=5

# writes: POST /api/products, each with a slug and a SKU of its own.
find_writes() {
	local lua c best=0 best_p99=- out rps p99
	if [ -z "$token_file" ] || { [ -n "$only" ] && [[ ",$only," != *",writes,"* ]]; }; then return; fi
	command -v wrk >/dev/null || { echo "measure.sh: writes need wrk (Debian's wrk)" >&2; exit 2; }
	# A category of the catalog's, the first product's.
	CAPACITY_CATEGORY=$(curl -fsS "$target/api/products?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["category"])')
	export CAPACITY_CATEGORY
	lua=$(mktemp)
	cat >"$lua" <<'LUA'
local n = 0
local tag = tostring(os.time()) .. tostring(math.random(1000000))
local category = os.getenv("CAPACITY_CATEGORY")
request = function()
	n = n + 1
	local body = string.format('{"name":"Capacity Lamp %s %d","brand":"Acme","category":"%s","status":"active",' ..
		'"variants":[{"sku":"CAP-%s-%d","price":{"amount":1999,"currency":"EUR"},"stock":5}]}', tag, n, category, tag, n)
	return wrk.format("POST", "/api/products", nil, body)
end
LUA
	for c in 1 2 4 8 16; do
		out=$(
			echo "$BASHPID" >"$client_group/cgroup.procs"
			exec wrk -t1 -c"$c" -d"$measure" --latency -s "$lua" \
				-H "Authorization: Bearer $(cat "$token_file")" -H "Content-Type: application/json" "$target"
		)
		rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
		p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else {sub(/s/, "", v); v *= 1000}; print v}' <<<"$out")
		if grep -q 'Non-2xx' <<<"$out"; then
			echo "  writes: $c connections: errors: $(grep Non-2xx <<<"$out")" >&2
			break
		fi
		echo "  writes: $c connections: $rps/s p99 $p99 ms" >&2
		under_bound "$p99" || break
		best=$rps best_p99=$p99
	done
	rm -f "$lua"
	printf '%-12s %8d/s %8.0f/s per core  p99 %s ms\n' writes "$best" \
		"$(python3 -c "print($best / $server_cores)")" "$best_p99"
}
find_writes
