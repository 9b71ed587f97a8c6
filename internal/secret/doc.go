// Package secret holds credentials (tokens, passwords, HMAC keys, routing
// keys) in a type that never prints them: every way Go renders a value —
// fmt's verbs, log/slog, encoding/json, encoding.TextMarshaler, YAML — shows
// a fixed placeholder instead. The value is reachable only through Reveal,
// so every use of a secret is one grep away.
//
// fmt cannot call methods through an unexported struct field: a struct that
// keeps a Value in an unexported field and is printed with %v shows the
// plain text. Keep Values in exported fields, or give the holding type its
// own Format method (ingest's authenticators do).
//
// Both config (which reads secrets from the config file, files and the
// environment) and ingest (which compares them) use it; it exists apart so
// that neither has to import the other. It imports nothing of alertbridge.
package secret
