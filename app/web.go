package app

import (
	"crypto/tls"
	"net/http"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/time/rate"
)

// serve serves HTTP on the bound listener. With a web config file it serves
// TLS as the Prometheus exporter-toolkit configures it (certificates re-read
// at every handshake, so they can be rotated in place), adds its
// http_server_config headers, and applies its rate_limit to everything but
// ingest. Its basic_auth_users are API identities (package access), not a
// gate in front of every path: ingest takes source credentials.
func (a *App) serve() error {
	if a.o.WebConfigFile == "" {
		return a.srv.Serve(a.ln)
	}
	c, err := a.webConfig.Config()
	if err != nil {
		return err
	}
	a.srv.Handler = a.webHandler(a.srv.Handler, c)
	if !c.TLSConfig.IsEnabled() {
		return a.srv.Serve(a.ln)
	}
	tc, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return err
	}
	protos := []string{"h2", "http/1.1"}
	if !c.HTTPConfig.HTTP2 {
		a.srv.TLSNextProto = make(map[string]func(*http.Server, *tls.Conn, http.Handler))
		protos = []string{"http/1.1"}
	}
	tc.NextProtos = protos
	tc.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := a.webConfig.Config()
		if err != nil {
			return nil, err
		}
		next, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			return nil, err
		}
		next.NextProtos = protos
		return next, nil
	}
	a.srv.TLSConfig = tc
	return a.srv.ServeTLS(a.ln, "", "")
}

// webHandler adds the web config's response headers (as they are now in the
// file) and its rate limit. The rate limit never applies to ingest:
// Alertmanager drops a notification answered 429, and sources have rate
// limits of their own that answer 503.
func (a *App) webHandler(next http.Handler, initial *web.Config) http.Handler {
	var limiter *rate.Limiter
	if rl := initial.RateLimiterConfig; rl.Interval != 0 {
		limiter = rate.NewLimiter(rate.Every(rl.Interval), rl.Burst)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.webConfig.Config()
		if err != nil {
			a.log.Error("web config unreadable", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		for k, v := range c.HTTPConfig.Header {
			w.Header().Set(k, v)
		}
		if limiter != nil && !isIngest(r.URL.Path) && !limiter.Allow() {
			http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isIngest(path string) bool {
	return strings.HasPrefix(path, "/ingest/") || path == "/v2/enqueue"
}
