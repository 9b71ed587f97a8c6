// Package yamlfile decodes YAML files strictly and reports every problem as
// file:line:col: message.
//
// yaml.v3's Node.Decode silently ignores KnownFields (go-yaml issue #460), so
// Decode walks the yaml.Node tree itself: it checks mapping keys against the
// target struct's yaml tags, rejects duplicate keys and wrong node kinds, and
// records the position of every Value so that later validation passes can
// point at the exact place of a problem. ScalarOrMapping serves a field that
// may be written either way (a fixed value or a table).
//
// It owns only decoding and positioned errors. It must not import any other
// alertbridge package; config and rules build on it.
package yamlfile
