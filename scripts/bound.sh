#!/bin/sh
# bound.sh: an upper bound of what leaving a new alert's rows out could
# gain, measured side by side with Alertmanager (compare.sh). It builds
# alertbridge from HEAD in a temporary worktree with scripts/bound.patch
# applied: a MEASURING build that drops the deferred rows of the tables
# named in SKIP (comma-separated: alert_states, alerts, alert_episodes,
# events, event_days, event_alert_days, event_alert_firsts,
# event_alert_day_touches, timeline) instead of writing them. Its records
# are wrong on purpose; it is never built by make build and never shipped.
#
#   SKIP=alert_episodes,events,event_days,event_alert_days,event_alert_firsts,event_alert_day_touches,timeline make compare-bound
#
# PAIRS, DURATION and CONCURRENCY are compare.sh's.
set -eu

SKIP=${SKIP:?set SKIP to the tables whose rows the measuring build drops (see the header)}
ROOT=$(git rev-parse --show-toplevel)
WT=$(mktemp -d)
cleanup() {
	git -C "$ROOT" worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"
}
trap cleanup EXIT INT TERM

git -C "$ROOT" worktree add --detach --force "$WT" HEAD >/dev/null
git -C "$WT" apply "$ROOT/scripts/bound.patch"
(cd "$WT" && go build -o "$WT/alertbridge-bound" ./cmd/alertbridge)
echo "measuring build: HEAD $(git -C "$ROOT" rev-parse --short HEAD) with scripts/bound.patch; rows dropped: $SKIP"
AB_BOUND_SKIP=$SKIP sh "$ROOT/scripts/compare.sh" "$WT/alertbridge-bound"
