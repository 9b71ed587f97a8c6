# lib.sh: what compare.sh and stored.sh share (sourced, not run).

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

waitready() { # url name [tries of 0.1s]
	i=0
	until curl -fsS -o /dev/null "$1" 2>/dev/null; do
		i=$((i+1))
		if [ $i -gt "${3:-100}" ]; then echo "$0: $2 not ready at $1" >&2; exit 1; fi
		sleep 0.1
	done
}

# benchrun url format name flags: runs one bench, prints its line and
# appends "name target alerts/s" to $RESULTS; $target names the side.
benchrun() {
	url=$1 format=$2 name=$3 flags=$(echo "$4" | tr ',' ' ') pair=$5
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

# medians a b: per scenario of $RESULTS, the median alerts/s of sides a
# and b and the ratio b / a.
medians() {
	awk -v A="$1" -v B="$2" '
	{ v[$1" "$2] = v[$1" "$2] " " $3; names[$1] = 1 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		printf "%-12s %14s %14s %8s\n", "scenario", A, B, "ratio"
		for (s in names) {
			a = median(v[s" "A]); b = median(v[s" "B])
			printf "%-12s %14.0f %14.0f %7.2fx\n", s, a, b, (a > 0 ? b / a : 0)
		}
	}' "$RESULTS"
}

# alternate a b: runs every scenario of $SCENARIOS ("name:flags" lines)
# $PAIRS times on sides a and b with run (side name flags pair), the side
# going first swapping each pair, so that a load change hits both alike.
alternate() {
	echo "$SCENARIOS" | while IFS=: read -r name flags; do
		p=1
		while [ $p -le "$PAIRS" ]; do
			if [ $((p % 2)) -eq 1 ]; then
				run "$1" "$name" "$flags" $p
				run "$2" "$name" "$flags" $p
			else
				run "$2" "$name" "$flags" $p
				run "$1" "$name" "$flags" $p
			fi
			p=$((p+1))
		done
	done
}
