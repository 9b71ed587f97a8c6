// Package config loads the daemon config file (--config.file): the ingest
// sources and their credentials, the ingest limits, the storage path and the
// rule files. It is for operators; rule authors write rule files, which the
// rules package owns, so `alertbridge rules check` needs neither this file
// nor its secrets.
//
// Loading runs three passes, as rules does: a strict decode through
// internal/yamlfile (unknown keys, wrong kinds and duplicates are errors with
// file:line:col), applyDefaults, and validate, which also reads the secrets
// named by *_file and *_env keys. Every problem of every pass is reported,
// sorted by position. Secrets are held as secret.Value, which never prints:
// no error message, log line or rendering of a Config shows one.
//
// It imports internal/yamlfile and internal/secret, and nothing else of
// alertbridge.
package config
