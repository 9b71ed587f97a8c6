// Package loadgen generates realistic Prometheus Alertmanager webhook traffic
// against an alertbridge instance on this machine and measures how long each
// notification takes to be acknowledged. It is the engine behind
// `alertbridge bench`.
//
// # Traffic model
//
// The simulated Alertmanager has Groups alert groups, grouped by
// `alertname` and `cluster` on the root route, so every notification carries
// groupKey `{}:{alertname="...", cluster="..."}`, receiver "bench" and
// version "4". Each group is a firing episode of AlertsPerGroup alerts that
// differ by `instance`; `severity` cycles critical, warning, info by instance,
// `job` and the `summary` annotation come from the alertname, and
// `description` names the instance. The fingerprint is Alertmanager's own
// label-set hash (16 hex digits), so it depends on the labels only and is
// stable across episodes. startsAt is fixed for the alerts an episode starts
// with, and endsAt is 0001-01-01T00:00:00Z while an alert fires.
//
// Each worker owns the groups whose index modulo Concurrency is its number,
// because Alertmanager never has two notifications of one group in flight.
// It then loops, and for every notification draws one action from Mix
// (default 70/15/15):
//
//   - Repeat: a firing group is sent again unchanged, reason
//     "repeat interval elapsed"; this is most of what a receiver sees, since
//     Alertmanager re-sends a firing group every repeat_interval (on a
//     group_interval tick) for as long as it fires.
//   - AddAlert: a firing group gains one alert on a new instance, with its own
//     startsAt, and is sent with all its alerts, reason "new alerts added".
//     A group stops growing at twice AlertsPerGroup; an AddAlert on a full
//     group is sent as a Repeat.
//   - ResolveRefire: a group chosen among all the worker's groups changes
//     state. A firing group resolves fully: status "resolved", every alert
//     resolved with endsAt set to now, reason "all alerts resolved". A resolved
//     group refires as a new episode with its original AlertsPerGroup
//     instances (the same fingerprints) and a new startsAt later than the
//     previous endsAt, reason "first notification". In steady state about half
//     the groups are firing.
//
// Repeat and AddAlert pick among firing groups only, as Alertmanager sends
// nothing for a group that has resolved; when none fire, they refire one.
//
// Before the timed run, unless NoWarmup is set, every group is sent once as a
// "first notification", so that the timed traffic meets a server that already
// knows the firing groups. Warm-up requests are not part of the Report.
//
// Given the same Seed and Options, every group gets the same sequence of
// notifications however the workers are scheduled; only timestamps, taken
// from the wall clock as Alertmanager's are, differ between runs.
//
// # Measurement
//
// The acknowledgement latency of a notification is the time from sending the
// request to having read the whole response; percentiles are over 2xx
// responses. Any other status, and any request without a response, is an
// error. The run ends after Requests notifications, or when Duration has
// passed since Run began (warm-up included), or when the context is done;
// requests in flight when Duration ends are waited for a few seconds and
// counted. Afterwards the server's process_resident_memory_bytes is read from
// its /metrics. Nothing is retried: a 5xx that Alertmanager would retry is
// counted as an error, so that the report shows what the server refused.
//
// # Safety
//
// Run refuses any URL whose host is not a loopback address (127.0.0.0/8, ::1
// or localhost): load tests only ever target this machine. The default client
// also refuses to dial a non-loopback address, ignores proxy settings, and no
// client follows redirects.
//
// loadgen talks to the daemon over HTTP only, as Alertmanager does, so it must
// not import other alertbridge packages. It builds payloads with
// Alertmanager's own template.Data; the three-field webhook.Message around it
// is mirrored rather than imported (see message).
package loadgen
