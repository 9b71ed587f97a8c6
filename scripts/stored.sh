#!/bin/sh
# stored.sh: ingest on an empty store against a store holding a long
# history (issue #13: "at 1M stored alerts, ingest within 10% of its rate on
# an empty store"), and the time from start to ready of each. Two daemons
# on 127.0.0.1, one on a fresh directory and one on a copy of SEEDED (the
# store the Go benchmarks seed: 100k incidents, 1.01M alerts, each with its
# state and an episode; a directory seeded before 2026-12-05 has neither,
# so seed a new one), take the
# same scenarios alternately, PAIRS times, the first in each pair swapping.
# Closing and retention are off on both, so that no sweep changes the
# history while it is measured.
#
#   ALERTBRIDGE_BENCH_DIR=/work/benchdata go test -run '^$' -bench 'Stats/7d' -benchtime 1x ./store/sqlite/  # seeds it once
#   SEEDED=/work/benchdata/alertbridge.db make bench-stored
set -eu

BIN=${1:-bin/alertbridge}
SEEDED=${SEEDED:?set SEEDED to a seeded alertbridge.db (see the header)}
PAIRS=${PAIRS:-3}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-8}
[ -x "$BIN" ] || { echo "stored: $BIN not built (make build)" >&2; exit 2; }
[ -f "$SEEDED" ] || { echo "stored: no store at $SEEDED" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d)
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

mkdir -p "$TMP/empty/data" "$TMP/stored/data"
cp "$SEEDED" "$TMP/stored/data/alertbridge.db"
echo "alertbridge: $("$BIN" version 2>&1 | head -1)"
echo "cpus: $(nproc); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stored: $(du -h "$SEEDED" | cut -f1) copied from $SEEDED"

# start side: starts the daemon of side (empty or stored) on PORT and
# prints how long it took to answer /-/ready.
start() {
	PORT=$(freeport)
	port=$PORT
	t0=$(date +%s%N)
	"$BIN" serve --web.listen-address="127.0.0.1:$port" --storage.path="$TMP/$1/data" --log.level=warn \
		--incidents.close-after=0s --storage.retention=0s >"$TMP/$1.log" 2>&1 &
	PIDS="$PIDS $!"
	waitready "http://127.0.0.1:$port/-/ready" "$1" 600
	t1=$(date +%s%N)
	echo "$1: ready in $(( (t1 - t0) / 1000000 )) ms"
}
start empty
EMPTY=$PORT
start stored
STORED=$PORT

SCENARIOS="new-100:--scenario=new,--alerts-per-group=100,--groups=16
repeats-100:--scenario=repeats,--alerts-per-group=100,--groups=64
single-1:--scenario=single,--groups=2000"

RESULTS="$TMP/results"
: >"$RESULTS"
run() { # side scenario flags pair
	target=$1
	if [ "$target" = empty ]; then port=$EMPTY; else port=$STORED; fi
	benchrun "http://127.0.0.1:$port/ingest/alertmanager" webhook "$2" "$3" "$4"
}

alternate empty stored

echo
echo "median alerts/s over $PAIRS pairs (load average now $(cut -d' ' -f1-3 /proc/loadavg)):"
medians empty stored
