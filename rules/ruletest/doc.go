// Package ruletest is the file format of `alertbridge rules test`: test files
// that list input alerts at simulated times and the incidents the rules
// should make of them, their loader with positioned errors
// (file:line:col: message), the run of one test's steps against an Engine,
// and the comparison of the expected incidents with the actual ones, which
// it renders as a readable diff with a listing of what actually happened.
//
// A test file names the rule files it tests (rule_files, relative to the test
// file), the group labels a sender would send with compact alerts (group_by),
// the simulated start time (start), and a list of tests. Each test is a list
// of steps at offsets from start: compact alerts and whole Alertmanager
// payload files to submit, manual actions (acknowledge, resolve), and
// optional expectations, checked after the step; a test's own expect is
// checked after its last step. docs/rules.md documents the format.
//
// ruletest owns the format and the diff; it does not run a pipeline. An
// Engine (in the binary: a pipeline.Replayer over a temporary SQLite store)
// applies the events, and a PayloadDecoder (ingest.DecodeAlertmanager)
// decodes payload files, so that this package imports neither. Like rules, it
// imports only incident, rules, internal/yamlfile and the pinned Alertmanager
// and Prometheus modules; it must not import net/http, database/sql, any
// store, pipeline, ingest or app package, and it starts no goroutines.
package ruletest
