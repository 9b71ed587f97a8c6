// Package rules is alertbridge's YAML rules language: it loads rule files with
// positioned errors (file:line:col: message), validates them, and compiles
// them into a Set that the pipeline evaluates per event.
//
// A rule file has four optional top-level keys:
//
//   - defaults: the settings (window, reopen_within, resolve, resolve_after,
//     min_alerts, impact, urgency, title, summary) that every correlation
//     rule takes unless it sets them itself, and that apply to alerts no rule
//     matches (Set.Defaults). At most one across all loaded files.
//   - services: the service catalog (Set.Service): name, Alertmanager
//     matchers, owner, impact, depends_on (checked for unknown names and
//     cycles) and free-form labels.
//   - correlations: an ordered list of rules, each with a name, Alertmanager
//     matchers, the labels that form the correlation key (by, where
//     "service" stands for the catalog service), the settings above, and an
//     optional action (drop). The first rule whose matchers all match an
//     alert's labels decides about it (Set.Match).
//   - sla: respond and resolve targets by priority and optionally service,
//     the first matching policy applying (Set.SLA), each counted 24x7 or
//     on a named business-hours calendar (package sla). At most one across
//     all loaded files.
//
// A rule's Version hashes its grouping definition (matchers and by) only, so
// that the correlation key changes when, and only when, the grouping does.
//
// Loading runs three passes, as the house style asks: decode (strict, with
// positions, by internal/yamlfile), applyDefaults (the defaults block, then
// the built-in defaults), and validate, which collects every problem in
// every file sorted by position. rules computes no run-time state: windows,
// thresholds and resolving are carried out by the pipeline.
//
// rules imports incident, sla, internal/yamlfile and the matcher and
// template packages of the pinned Alertmanager module. It must not import
// net/http, database/sql, any store, pipeline or app package, and it starts
// no goroutines.
package rules
