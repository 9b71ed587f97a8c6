// Package rules is alertbridge's YAML rules language: it loads rule files with
// positioned errors (file:line:col: message), validates them, and compiles
// them into a Set that the pipeline evaluates per event.
//
// A rule file has one top-level key for now, correlations: an ordered list of
// rules, each with a name, Alertmanager matchers, the labels that form the
// correlation key (by), a reopen window, optional impact and urgency, an
// optional title template, and an optional action (drop). The first rule
// whose matchers all match an alert's labels decides about it.
//
// Loading runs three passes, as the house style asks: decode (strict, with
// positions, by internal/yamlfile), applyDefaults, and validate, which
// collects every problem in every file sorted by position.
//
// rules imports incident, internal/yamlfile and the matcher and template
// packages of the pinned Alertmanager module. It must not import net/http,
// database/sql, any store, pipeline or app package, and it starts no
// goroutines.
package rules
