// Package promreg registers Prometheus collectors that may already be
// registered: components that can be built twice on one registry (two
// ingest handlers, several pollers) share the first one's collectors
// instead of panicking.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c, or returns the equal collector already registered.
// Any other registration error leaves c working but unexported.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}
