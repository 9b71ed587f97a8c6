package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Options are the daemon's settings, filled from Prometheus-style flags.
type Options struct {
	// ListenAddress is --web.listen-address (default ":9097"); ":0" picks a port.
	ListenAddress string
	// StoragePath is --storage.path, the SQLite directory (default "./data").
	StoragePath string
	// RuleFiles are --rules.file values: paths or globs.
	RuleFiles []string
	// MaxBodyBytes bounds an ingest request (default 10 MiB).
	MaxBodyBytes int64
	// DedupeCacheSize and CorrelateCacheSize bound the LRUs.
	DedupeCacheSize, CorrelateCacheSize int
	// QueueSize bounds requests waiting for the writer.
	QueueSize int
	// SweepInterval is how often scheduled resolves (resolve_after) are
	// carried out (default 5s): a resolve happens at most this late.
	SweepInterval time.Duration
	// ShutdownTimeout bounds the graceful drain (default 30s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Now is the clock (default time.Now); tests pass a simulated one.
	Now func() time.Time
	// Version is reported by alertbridge_build_info.
	Version string
}

// Validate applies defaults and checks the options.
func (o *Options) Validate() error {
	if o.ListenAddress == "" {
		o.ListenAddress = ":9097"
	}
	if o.StoragePath == "" {
		o.StoragePath = "./data"
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 5 * time.Second
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	var errs []error
	if o.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max body bytes %d: want at least 1024", o.MaxBodyBytes))
	}
	if o.DedupeCacheSize < 0 || o.CorrelateCacheSize < 0 || o.QueueSize < 0 {
		errs = append(errs, errors.New("cache and queue sizes must not be negative"))
	}
	if o.SweepInterval < 0 {
		errs = append(errs, errors.New("sweep interval must not be negative"))
	}
	if o.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown timeout must not be negative"))
	}
	return errors.Join(errs...)
}
