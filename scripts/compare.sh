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

. "$(dirname "$0")/lib.sh"

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
	target=$1
	if [ "$target" = alertmanager ]; then
		benchrun "http://127.0.0.1:$AMPORT/api/v2/alerts" api "$2" "$3" "$4"
	else
		benchrun "http://127.0.0.1:$ABPORT/ingest/alertmanager" webhook "$2" "$3" "$4"
	fi
}

alternate alertmanager alertbridge

echo
echo "median alerts/s over $PAIRS pairs (load average now $(cut -d' ' -f1-3 /proc/loadavg)):"
medians alertmanager alertbridge
