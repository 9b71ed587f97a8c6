package access

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"gopkg.in/yaml.v3"
)

// LoadWebConfig reads the Prometheus web config file (--web.config.file) with
// the exporter-toolkit's types and defaults (TLS 1.2 to 1.3, HTTP/2 on) and
// its strictness (an unknown key is an error). Relative certificate paths
// are taken relative to the file's directory.
//
// alertbridge reads the file itself instead of handing it to the toolkit's
// server because the toolkit would apply basic_auth_users to every path,
// ingest included; here they are API identities and ingest takes source
// credentials (docs/config.md, "Security model").
func LoadWebConfig(path string) (*web.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("web config %s: %w", path, err)
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	return c, nil
}

// WebConfigFile re-reads the web config when it changes on disk, as every
// Prometheus component does on each request, but parses it only when its
// size or modification time moved, so the ingest path does not parse YAML
// per request.
type WebConfigFile struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	cfg     *web.Config
	err     error
}

// NewWebConfigFile watches the web config at path; "" means none.
func NewWebConfigFile(path string) *WebConfigFile { return &WebConfigFile{path: path} }

// Config returns the file's current contents; nil when no file is
// configured. Do not modify it: it is shared.
func (f *WebConfigFile) Config() (*web.Config, error) {
	if f == nil || f.path == "" {
		return nil, nil
	}
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg == nil && f.err == nil || !fi.ModTime().Equal(f.modTime) || fi.Size() != f.size {
		f.modTime, f.size = fi.ModTime(), fi.Size()
		f.cfg, f.err = LoadWebConfig(f.path)
	}
	return f.cfg, f.err
}

// users returns the file's basic_auth_users (name → bcrypt hash); nil when
// no file is configured.
func (f *WebConfigFile) users() (map[string]string, error) {
	cfg, err := f.Config()
	if cfg == nil || err != nil {
		return nil, err
	}
	users := make(map[string]string, len(cfg.Users))
	for name, hash := range cfg.Users {
		users[name] = string(hash)
	}
	return users, nil
}
