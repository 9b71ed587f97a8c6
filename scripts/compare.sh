#!/bin/sh
# compare.sh: alertbridge against Debian's Alertmanager on this machine, in
# one run. Both listen on 127.0.0.1 (free ports, temporary directories); the
# same traffic goes to Alertmanager's POST /api/v2/alerts (as Prometheus
# sends it, kept in memory) and to alertbridge's /ingest/alertmanager (as
# Alertmanager's webhook sends it, committed durably before the 2xx). The two
# run alternately, PAIRS times per scenario, the first in the pair swapping
# each time, so that a load change on a shared machine hits both alike.
#
#   make compare                     # or: scripts/compare.sh [bin/alertbridge]
#   PAIRS=5 DURATION=15s make compare
#
# It prints each run, then per scenario the median alerts/s acknowledged by
# each and the ratio alertbridge / Alertmanager.
set -eu

BIN=${1:-bin/alertbridge}
AM=${ALERTMANAGER:-$(command -v prometheus-alertmanager || true)}
PAIRS=${PAIRS:-3}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-8}

if [ -z "$AM" ]; then
	echo "compare: prometheus-alertmanager not found (apt-get install prometheus-alertmanager, or set ALERTMANAGER)" >&2
	exit 2
fi
[ -x "$BIN" ] || { echo "compare: $BIN not built (make build)" >&2; exit 2; }

TMP=$(mktemp -d)
AMPID= ABPID=
cleanup() {
	[ -n "$AMPID" ] && kill "$AMPID" 2>/dev/null || true
	[ -n "$ABPID" ] && kill "$ABPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

waitready() { # url name
	i=0
	until curl -fsS -o /dev/null "$1" 2>/dev/null; do
		i=$((i+1))
		if [ $i -gt 100 ]; then echo "compare: $2 not ready at $1" >&2; exit 1; fi
		sleep 0.1
	done
}

AMPORT=$(freeport)
ABPORT=$(freeport)
cat >"$TMP/am.yml" <<YML
route:
  receiver: blackhole
  group_by: [alertname, cluster]
receivers:
  - name: blackhole
YML
mkdir -p "$TMP/am" "$TMP/ab"
"$AM" --config.file="$TMP/am.yml" --storage.path="$TMP/am" --web.listen-address="127.0.0.1:$AMPORT" \
	--cluster.listen-address= --log.level=warn >"$TMP/am.log" 2>&1 &
AMPID=$!
"$BIN" serve --web.listen-address="127.0.0.1:$ABPORT" --storage.path="$TMP/ab/data" --log.level=warn >"$TMP/ab.log" 2>&1 &
ABPID=$!
waitready "http://127.0.0.1:$AMPORT/-/ready" alertmanager
waitready "http://127.0.0.1:$ABPORT/-/ready" alertbridge

echo "alertmanager: $("$AM" --version 2>&1 | head -1)"
echo "alertbridge:  $("$BIN" version 2>&1 | head -1)"
echo "cpus: $(nproc); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pairs: $PAIRS; each run: $DURATION, $CONCURRENCY senders"

# scenario name, then the bench flags that make it.
SCENARIOS="repeats-100:--scenario=repeats,--alerts-per-group=100,--groups=64
new-100:--scenario=new,--alerts-per-group=100,--groups=16
single-1:--scenario=single,--groups=2000"

RESULTS="$TMP/results"
: >"$RESULTS"
run() { # target scenario flags pair
	target=$1 name=$2 flags=$(echo "$3" | tr ',' ' ') pair=$4
	if [ "$target" = alertmanager ]; then
		url="http://127.0.0.1:$AMPORT/api/v2/alerts" format=api
	else
		url="http://127.0.0.1:$ABPORT/ingest/alertmanager" format=webhook
	fi
	# shellcheck disable=SC2086 # flags are words on purpose
	out=$("$BIN" bench --url "$url" --format "$format" \
		--duration "$DURATION" --requests 0 --concurrency "$CONCURRENCY" --fsync-samples 0 \
		--run-id "c$pair$target" $flags 2>&1) || true
	rate=$(echo "$out" | sed -n 's/^throughput:.* notifications\/s, \([0-9.]*\) alerts\/s.*/\1/p')
	errs=$(echo "$out" | sed -n 's/^errors: *//p')
	p99=$(echo "$out" | sed -n 's/^ack latency:.*p99 \([^,]*\),.*/\1/p')
	load=$(cut -d' ' -f1 /proc/loadavg)
	printf '%-12s %-12s pair %d  %10s alerts/s  p99 %-9s errors %s  (load %s)\n' "$name" "$target" "$pair" "${rate:-?}" "${p99:-?}" "${errs:-?}" "$load"
	echo "$name $target ${rate:-0}" >>"$RESULTS"
}

echo "$SCENARIOS" | while IFS=: read -r name flags; do
	p=1
	while [ $p -le "$PAIRS" ]; do
		if [ $((p % 2)) -eq 1 ]; then
			run alertmanager "$name" "$flags" $p
			run alertbridge "$name" "$flags" $p
		else
			run alertbridge "$name" "$flags" $p
			run alertmanager "$name" "$flags" $p
		fi
		p=$((p+1))
	done
done

echo
echo "median alerts/s over $PAIRS pairs (load average now $(cut -d' ' -f1-3 /proc/loadavg)):"
awk '
	{ v[$1" "$2] = v[$1" "$2] " " $3; names[$1] = 1 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		printf "%-12s %14s %14s %8s\n", "scenario", "alertmanager", "alertbridge", "ratio"
		for (s in names) {
			am = median(v[s" alertmanager"]); ab = median(v[s" alertbridge"])
			printf "%-12s %14.0f %14.0f %7.2fx\n", s, am, ab, (am > 0 ? ab / am : 0)
		}
	}' "$RESULTS"
