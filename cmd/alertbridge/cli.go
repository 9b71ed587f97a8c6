package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/alertbridge/alertbridge/api"
)

// What every API client command shares, so that they feel like amtool and
// promtool: the client flags may come before the command, between it and
// its verb or after the verb; flags and positional arguments mix freely; the
// HTTP client is Prometheus' http_config (TLS, bearer, basic auth, proxy);
// and an error says what to do about it.

// defaultURL is where the client commands look for alertbridge without
// --url or $ALERTBRIDGE_URL.
const defaultURL = "http://127.0.0.1:9097"

// exitInterrupted is the exit status of a command stopped by Ctrl-C (or
// SIGTERM) before it finished: 128 + SIGINT, as a shell reports it, so a
// script can tell an interrupted run from a failed one.
const exitInterrupted = 130

// clientFlags are the flags of every API client command.
type clientFlags struct {
	url        string
	json       bool
	httpConfig string
	timeout    time.Duration
	utc        bool
}

// register adds the client flags to fs. The default URL is read from the
// environment now, so that it shows in the usage.
func (cf *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.url, "url", cmp.Or(os.Getenv("ALERTBRIDGE_URL"), defaultURL),
		"alertbridge's address; $ALERTBRIDGE_URL sets the default")
	fs.BoolVar(&cf.json, "json", false, "print the API's JSON as it came")
	fs.StringVar(&cf.httpConfig, "http.config.file", "",
		"HTTP client config in Prometheus' http_config format: TLS, bearer token or basic auth, proxy (docs/api.md#the-cli)")
	fs.DurationVar(&cf.timeout, "timeout", 30*time.Second, "how long to wait for the answer")
	fs.BoolVar(&cf.utc, "utc", false, "print times in UTC instead of the local time zone")
}

// globalFlagSet is a FlagSet of the client flags only; it tells which
// arguments before a command are client flags.
func globalFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("alertbridge", flag.ContinueOnError)
	new(clientFlags).register(fs)
	return fs
}

// location is where times are printed: the local zone, or UTC with --utc.
func (cf *clientFlags) location() *time.Location {
	if cf.utc {
		return time.UTC
	}
	return time.Local
}

// cliClient is the API client the flags describe.
type cliClient struct {
	*api.Client
	flags *clientFlags
	// credentials says whether the http_config file sends any, which
	// decides what a 401 asks for.
	credentials bool
	// body is the last answer's body, as it came.
	body *bytes.Buffer
}

// bodyRecorder keeps the body of the last response it carries, so that
// --json prints the API's JSON as the server sent it, fields this client
// does not know of included (a newer daemon), not as the client's structs
// would encode it again.
type bodyRecorder struct {
	next http.RoundTripper
	body *bytes.Buffer
}

func (r bodyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.body.Reset()
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, r.body), resp.Body}
	return resp, nil
}

// writeJSON prints the last answer's JSON, indented but otherwise as it
// came.
func (c *cliClient) writeJSON(w io.Writer) {
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(c.body.Bytes()), "", "  "); err != nil {
		out.Reset()
		out.Write(bytes.TrimSpace(c.body.Bytes()))
	}
	out.WriteByte('\n')
	_, _ = out.WriteTo(w) // stdout gone: nothing left to tell
}

// newClient builds the API client: --url, and the HTTP client of
// --http.config.file (without it, the http_config defaults plus the
// environment's proxy settings, as Go's default client has).
func (cf *clientFlags) newClient() (*cliClient, error) {
	u, err := url.Parse(cf.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://HOST:PORT or https://HOST:PORT", cf.url)
	}
	hc := promconfig.DefaultHTTPClientConfig
	hc.ProxyFromEnvironment = true
	if cf.httpConfig != "" {
		loaded, _, err := promconfig.LoadHTTPConfigFile(cf.httpConfig)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && pe.Path == cf.httpConfig {
				err = pe.Err // the path is in the message already
			}
			return nil, fmt.Errorf("--http.config.file %s: %s", cf.httpConfig, hideQuoted(err.Error()))
		}
		hc = *loaded
	}
	httpClient, err := promconfig.NewClientFromConfig(hc, "alertbridge", promconfig.WithUserAgent("alertbridge/"+version))
	if err != nil {
		return nil, fmt.Errorf("--http.config.file %s: %s", cf.httpConfig, hideQuoted(err.Error()))
	}
	creds := hc.Authorization != nil || hc.BasicAuth != nil || hc.OAuth2 != nil || hc.BearerToken != "" ||
		hc.BearerTokenFile != ""
	body := new(bytes.Buffer)
	httpClient.Transport = bodyRecorder{next: httpClient.Transport, body: body}
	return &cliClient{Client: &api.Client{BaseURL: cf.url, HTTP: httpClient}, flags: cf, credentials: creds, body: body}, nil
}

// quotedRE matches what the YAML decoder quotes of a value it could not
// take, e.g. "cannot unmarshal !!str `s3cr3t` into config.plain".
var quotedRE = regexp.MustCompile("`[^`]*`")

// hideQuoted drops the values a YAML error quotes: in an http_config file
// that value may well be a token written in the wrong place.
func hideQuoted(s string) string { return quotedRE.ReplaceAllString(s, "(value hidden)") }

// explain turns a failed call into one line that says what went wrong and,
// where there is one, what to do about it.
func (c *cliClient) explain(err error) string {
	var se *api.StatusError
	if errors.As(err, &se) {
		msg := se.Body.Error
		if w := se.Body.Where; w != "" && w != "authorization" && msg != "" {
			msg = w + ": " + msg
		}
		msg = strings.TrimSuffix(msg, ".") // a hint may follow
		s := fmt.Sprintf("%s answered %d %s", c.BaseURL, se.Code, http.StatusText(se.Code))
		if msg != "" {
			s += ": " + msg
		}
		switch {
		case se.Code == http.StatusUnauthorized && c.credentials:
			s += "; the credentials in --http.config.file " + c.flags.httpConfig +
				" are not those of an api.users identity (docs/api.md#the-cli)"
		case se.Code == http.StatusUnauthorized:
			s += "; pass the credentials of an api.users identity with --http.config.file (docs/api.md#the-cli)"
		case se.Code == http.StatusForbidden && se.Body.Where == "authorization":
			s += "; the identity's role is too low for this: use an api.users identity with that role (docs/config.md#what-each-role-may-do)"
		case se.Code == http.StatusBadRequest && strings.Contains(msg, "HTTPS server"):
			s += "; the server speaks TLS: use --url https://" + hostOf(c.BaseURL)
		}
		return s
	}
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	var hint string
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s did not answer within --timeout %s", c.BaseURL, c.flags.timeout)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &unknownCA):
		hint = "set tls_config.ca_file in --http.config.file to the CA that signed the server's certificate (docs/api.md#the-cli)"
	case errors.As(err, &hostname):
		hint = "reach the server by a name its certificate holds, or set tls_config.server_name in --http.config.file"
	case errors.As(err, &verify):
		hint = "check tls_config in --http.config.file (docs/api.md#the-cli)"
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = "is alertbridge running there? --url or $ALERTBRIDGE_URL says where"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		hint = "the server does not speak TLS: use --url http://" + hostOf(c.BaseURL)
	}
	if hint == "" {
		return err.Error()
	}
	return err.Error() + "; " + hint
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// argSpec says whether name is a flag, and whether it takes a value (every
// flag but a boolean one does).
type argSpec func(name string) (isFlag, takesValue bool)

// flagsOf is the argSpec of the flags defined in sets.
func flagsOf(sets ...*flag.FlagSet) argSpec {
	return func(name string) (bool, bool) {
		for _, fs := range sets {
			if f := fs.Lookup(name); f != nil {
				b, ok := f.Value.(interface{ IsBoolFlag() bool })
				return true, !ok || !b.IsBoolFlag()
			}
		}
		return false, false
	}
}

// flagName returns the name of a flag argument ("--url=x" → "url") and
// whether it carries its value; ok is false for a positional argument.
func flagName(arg string) (name string, withValue, ok bool) {
	if len(arg) < 2 || arg[0] != '-' {
		return "", false, false
	}
	name = strings.TrimPrefix(arg[1:], "-")
	name, _, withValue = strings.Cut(name, "=")
	return name, withValue, true
}

// splitArgs separates flags, with their values, from positional
// arguments, so that flags may come anywhere: "show 3 --json" as well as
// "--json show 3". An unknown flag stays with the flags for flag.Parse to
// report. After "--" every argument is positional.
func splitArgs(args []string, spec argSpec) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		name, withValue, ok := flagName(a)
		if !ok {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if isFlag, takesValue := spec(name); isFlag && takesValue && !withValue && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional
}

// wantsHelp reports whether flag arguments ask for help.
func wantsHelp(flags []string) bool {
	for _, a := range flags {
		if name, _, _ := flagName(a); name == "h" || name == "help" {
			return true
		}
	}
	return false
}

// parseFlags parses args with fs, flags anywhere among the positional
// arguments, and returns the positional ones. On -h or --help it prints the
// usage on stdout and returns exit status 0; on a bad flag, the problem and
// the usage on stderr and status 2; ok is false in both cases.
func parseFlags(fs *flag.FlagSet, args []string, usage func(io.Writer), stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	flags, pos := splitArgs(args, flagsOf(fs))
	if code, ok := parseSplit(fs, flags, usage, stdout, stderr); !ok {
		return nil, code, false
	}
	return pos, 0, true
}

// parseSplit is parseFlags for flag arguments already split from the
// positional ones.
func parseSplit(fs *flag.FlagSet, flags []string, usage func(io.Writer), stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, on the stream that fits
	err := fs.Parse(flags)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return 0, false
	case err != nil:
		fmt.Fprintln(stderr)
		usage(stderr)
		return 2, false
	case fs.NArg() > 0:
		// Only an unknown flag's value can be left here; splitArgs could
		// not know it takes one.
		fmt.Fprintf(stderr, "unexpected argument %q\n\n", fs.Arg(0))
		usage(stderr)
		return 2, false
	}
	return 0, true
}

// printDefaults prints the flags that register defines, as flag does.
func printDefaults(w io.Writer, register func(*flag.FlagSet)) {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(w)
	register(fs)
	fs.PrintDefaults()
}

// timeFormat shows the zone: a table read next to logs, a colleague's
// paste or a UTC dashboard must not be an hour off.
const timeFormat = "2006-01-02 15:04:05 MST"

func fmtTime(t *time.Time, loc *time.Location) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(timeFormat)
}

// orDash shows an empty table cell as "-", so columns stay aligned and an
// empty value is visibly empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
