// Package deploy_test keeps the files in deploy/ honest: every flag they
// pass exists in `alertbridge serve`, the probes, ports and paths agree
// across the Dockerfile, the Kubernetes manifests and the systemd unit, and
// the example config files and rules load. deploy/ holds no other Go; these
// checks live here because they are about these files.
package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/rules"
)

// serveFlags are the flags of `alertbridge serve`, with their defaults, as
// its --help prints them: the binary is built and asked, so that a renamed
// flag fails here whatever file declares it.
var serveFlags = sync.OnceValues(func() (map[string]string, error) {
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("alertbridge-deploy-test-%d", os.Getpid()))
	defer os.Remove(bin)
	build := exec.Command("go", "build", "-o", bin, "../cmd/alertbridge")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	// --help ends in flag.ErrHelp, exit status 2: the usage is what counts.
	out, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	flags := map[string]string{}
	name := ""
	re := regexp.MustCompile(`^  -([a-z0-9.-]+)`)
	def := regexp.MustCompile(`\(default "?([^")]*)"?\)$`)
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\n")
		if m := re.FindStringSubmatch(line); m != nil {
			name = m[1]
			flags[name] = ""
			continue
		}
		if m := def.FindStringSubmatch(line); m != nil && name != "" {
			flags[name] = m[1]
		}
	}
	if _, ok := flags["storage.path"]; !ok {
		return nil, fmt.Errorf("serve --help lists no --storage.path; got:\n%s", out)
	}
	return flags, nil
})

func mustServeFlags(t *testing.T) map[string]string {
	t.Helper()
	flags, err := serveFlags()
	if err != nil {
		t.Fatal(err)
	}
	return flags
}

// flagArgs returns the --name=value arguments of args as name → value. A
// flag given twice keeps the last value, as the flag package does.
func flagArgs(t *testing.T, where string, args []string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: argument %q is not a flag: give flags as --name=value", where, a)
			continue
		}
		name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			value = args[i]
		}
		got[name] = value
	}
	return got
}

// checkFlags fails for every flag of args that `alertbridge serve` lacks.
func checkFlags(t *testing.T, where string, args []string) map[string]string {
	t.Helper()
	known := mustServeFlags(t)
	got := flagArgs(t, where, args)
	for name := range got {
		if _, ok := known[name]; !ok {
			t.Errorf("%s: --%s is not a flag of alertbridge serve", where, name)
		}
	}
	return got
}

// dockerfile is what the checks need from deploy/Dockerfile.
type dockerfile struct {
	entrypoint, cmd []string
	expose          []string
	volumes         []string
	run             []string
}

func mustDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	var inst string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if inst == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			inst += cont + " "
			continue
		}
		inst += line
		word, rest, _ := strings.Cut(inst, " ")
		rest = strings.TrimSpace(rest)
		inst = ""
		execForm := func() []string {
			var v []string
			if err := json.Unmarshal([]byte(rest), &v); err != nil {
				t.Errorf("Dockerfile: %s %s: want the exec form, a JSON array: %v", word, rest, err)
			}
			return v
		}
		switch strings.ToUpper(word) {
		case "ENTRYPOINT":
			d.entrypoint = execForm()
		case "CMD":
			d.cmd = execForm()
		case "EXPOSE":
			d.expose = append(d.expose, strings.Fields(rest)...)
		case "VOLUME":
			d.volumes = append(d.volumes, strings.Fields(rest)...)
		case "RUN":
			d.run = append(d.run, rest)
		}
	}
	return d
}

// Kubernetes objects, as far as the checks read them.
type (
	object struct {
		Kind     string
		Metadata struct{ Name string }
		Spec     yaml.Node
		file     string
	}
	intOrString string
	probe       struct {
		HTTPGet *struct {
			Path string
			Port intOrString
		} `yaml:"httpGet"`
	}
	container struct {
		Name    string
		Command []string
		Args    []string
		Env     []struct {
			Name      string
			ValueFrom *struct {
				SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		}
		Ports []struct {
			Name          string
			ContainerPort int `yaml:"containerPort"`
		}
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		StartupProbe   *probe `yaml:"startupProbe"`
		VolumeMounts   []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	volume struct {
		Name                  string
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		ConfigMap *struct{ Name string } `yaml:"configMap"`
		Secret    *struct {
			SecretName string `yaml:"secretName"`
		}
	}
	workloadSpec struct {
		Replicas int
		Template struct {
			Spec struct {
				Containers []container
				Volumes    []volume
			}
		}
	}
	serviceSpec struct {
		Ports []struct {
			Name       string
			Port       int
			TargetPort intOrString `yaml:"targetPort"`
		}
	}
	serviceMonitorSpec struct {
		Endpoints []struct{ Port, Path string }
	}
	kustomization struct {
		Resources          []string
		ConfigMapGenerator []struct {
			Name  string
			Files []string
		} `yaml:"configMapGenerator"`
	}
)

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	*v = intOrString(n.Value)
	return nil
}

const k8sDir = "kubernetes"

// mustKustomization reads deploy/kubernetes/kustomization.yaml and checks
// that what it names exists.
func mustKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			if _, err := os.Stat(filepath.Join(k8sDir, f)); err != nil {
				t.Errorf("kustomization.yaml: configMapGenerator %s: %v", g.Name, err)
			}
		}
	}
	return k
}

// mustObjects decodes every document of every resource the kustomization
// lists, and checks that no manifest in the directory is left out of it.
func mustObjects(t *testing.T) []object {
	t.Helper()
	k := mustKustomization(t)
	var objs []object
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(k8sDir, r))
		if err != nil {
			t.Fatalf("kustomization.yaml: resource %s: %v", r, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			if o.Kind == "" {
				t.Errorf("%s: a document without kind", r)
				continue
			}
			o.file = r
			objs = append(objs, o)
		}
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("%s is not among the kustomization's resources", f)
		}
	}
	return objs
}

func decodeSpec[T any](t *testing.T, o object) T {
	t.Helper()
	var s T
	if err := o.Spec.Decode(&s); err != nil {
		t.Fatalf("%s: %s %s: spec: %v", o.file, o.Kind, o.Metadata.Name, err)
	}
	return s
}

// mustWorkload returns the one Deployment or StatefulSet and its
// alertbridge container.
func mustWorkload(t *testing.T, objs []object) (object, workloadSpec, container) {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.Kind == "Deployment" || o.Kind == "StatefulSet" {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one Deployment or StatefulSet, got %d", len(found))
	}
	spec := decodeSpec[workloadSpec](t, found[0])
	for _, c := range spec.Template.Spec.Containers {
		if c.Name == "alertbridge" {
			return found[0], spec, c
		}
	}
	t.Fatalf("%s: no container named alertbridge", found[0].file)
	return object{}, workloadSpec{}, container{}
}

// mustSystemdUnit returns the unit's ExecStart, continuation lines joined,
// split into words (the unit quotes nothing), and the unit's other keys.
func mustSystemdUnit(t *testing.T) (execStart []string, keys map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("systemd", "alertbridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys = map[string]string{}
	var line string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if line == "" && (l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[")) {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			line += cont + " "
			continue
		}
		line += l
		k, v, _ := strings.Cut(line, "=")
		keys[k] = v
		line = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(keys["ExecStart"], `"'`) {
		t.Fatalf("ExecStart quotes: this test splits on spaces only; teach it quoting")
	}
	return strings.Fields(keys["ExecStart"]), keys
}

// TestFlagsExist: every flag the deploy files pass to the daemon is one
// `alertbridge serve` has, so renaming a flag fails here and not at 3 am.
func TestFlagsExist(t *testing.T) {
	d := mustDockerfile(t)
	if len(d.entrypoint) < 2 || filepath.Base(d.entrypoint[0]) != "alertbridge" || d.entrypoint[1] != "serve" {
		t.Errorf("Dockerfile: ENTRYPOINT %q, want alertbridge serve ...", d.entrypoint)
	}
	checkFlags(t, "Dockerfile ENTRYPOINT", d.entrypoint[min(2, len(d.entrypoint)):])
	checkFlags(t, "Dockerfile CMD", d.cmd)

	_, _, c := mustWorkload(t, mustObjects(t))
	if len(c.Command) > 0 {
		t.Errorf("kubernetes: the container sets command %q: keep the image's entrypoint (alertbridge serve) and pass args", c.Command)
	}
	checkFlags(t, "kubernetes container args", c.Args)

	exec, _ := mustSystemdUnit(t)
	if len(exec) < 2 || filepath.Base(exec[0]) != "alertbridge" || exec[1] != "serve" {
		t.Fatalf("systemd ExecStart %q, want alertbridge serve ...", exec)
	}
	checkFlags(t, "systemd ExecStart", exec[2:])
}

// TestPortsAndProbes: the daemon listens on the port that the image exposes,
// the container declares, the probes, the Service and the ServiceMonitor
// use, and the probes ask the endpoints made for them.
func TestPortsAndProbes(t *testing.T) {
	flags := mustServeFlags(t)
	_, port, err := splitHostPort(flags["web.listen-address"])
	if err != nil {
		t.Fatalf("--web.listen-address default %q: %v", flags["web.listen-address"], err)
	}

	d := mustDockerfile(t)
	if !slices.Contains(d.expose, port) && !slices.Contains(d.expose, port+"/tcp") {
		t.Errorf("Dockerfile: EXPOSE %q, want the daemon's port %s", d.expose, port)
	}

	objs := mustObjects(t)
	_, _, c := mustWorkload(t, objs)
	if addr, ok := flagArgs(t, "kubernetes", c.Args)["web.listen-address"]; ok {
		if _, port, err = splitHostPort(addr); err != nil {
			t.Fatalf("kubernetes: --web.listen-address=%s: %v", addr, err)
		}
	}
	portName := ""
	for _, p := range c.Ports {
		if strconv.Itoa(p.ContainerPort) == port {
			portName = p.Name
		}
	}
	if portName == "" {
		t.Fatalf("kubernetes: the container declares no port %s", port)
	}
	samePort := func(p intOrString) bool { return string(p) == port || string(p) == portName }
	for _, pr := range []struct {
		name  string
		probe *probe
		path  string
	}{
		{"readinessProbe", c.ReadinessProbe, "/-/ready"},
		{"livenessProbe", c.LivenessProbe, "/-/healthy"},
		{"startupProbe", c.StartupProbe, "/-/healthy"},
	} {
		switch {
		case pr.probe == nil && pr.name == "startupProbe":
			// optional
		case pr.probe == nil || pr.probe.HTTPGet == nil:
			t.Errorf("kubernetes: %s: want an httpGet of %s", pr.name, pr.path)
		case pr.probe.HTTPGet.Path != pr.path || !samePort(pr.probe.HTTPGet.Port):
			t.Errorf("kubernetes: %s: GET %s on port %s, want %s on %s (%s)", pr.name,
				pr.probe.HTTPGet.Path, pr.probe.HTTPGet.Port, pr.path, port, portName)
		}
	}

	var servicePortName string
	for _, o := range objs {
		if o.Kind != "Service" {
			continue
		}
		for _, p := range decodeSpec[serviceSpec](t, o).Ports {
			if !samePort(p.TargetPort) {
				t.Errorf("%s: Service port %s targets %s, want %s (%s)", o.file, p.Name, p.TargetPort, port, portName)
			}
			if strconv.Itoa(p.Port) != port {
				t.Errorf("%s: Service port %s is %d, want %s as everywhere else", o.file, p.Name, p.Port, port)
			}
			servicePortName = p.Name
		}
	}
	if servicePortName == "" {
		t.Fatal("kubernetes: no Service with a port")
	}
	for _, o := range objs {
		if o.Kind != "ServiceMonitor" {
			continue
		}
		for _, e := range decodeSpec[serviceMonitorSpec](t, o).Endpoints {
			if e.Port != servicePortName || e.Path != "/metrics" {
				t.Errorf("%s: ServiceMonitor scrapes %s on %q, want /metrics on the Service port %q", o.file, e.Path, e.Port, servicePortName)
			}
		}
	}
}

func splitHostPort(addr string) (host, port string, err error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", "", fmt.Errorf("no port in %q", addr)
	}
	return addr[:i], addr[i+1:], nil
}

// TestStorageAndRulePaths: the database lands on the image's volume, the
// Kubernetes volume and systemd's StateDirectory, and the rule glob points
// into the mounted rules ConfigMap.
func TestStorageAndRulePaths(t *testing.T) {
	d := mustDockerfile(t)
	storage := flagArgs(t, "Dockerfile", d.entrypoint[min(2, len(d.entrypoint)):])["storage.path"]
	if storage == "" || !slices.Contains(d.volumes, storage) {
		t.Errorf("Dockerfile: --storage.path=%s, VOLUME %q: want the storage path to be the volume", storage, d.volumes)
	}

	objs := mustObjects(t)
	_, spec, c := mustWorkload(t, objs)
	args := flagArgs(t, "kubernetes", c.Args)
	if p, ok := args["storage.path"]; ok {
		storage = p
	}
	mounts := map[string]volume{} // mount path → volume
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Template.Spec.Volumes {
			if v.Name == m.Name {
				mounts[m.MountPath] = v
			}
		}
		if _, ok := mounts[m.MountPath]; !ok {
			t.Errorf("kubernetes: volumeMount %s: no volume %q", m.MountPath, m.Name)
		}
	}
	if v, ok := mounts[storage]; !ok || v.PersistentVolumeClaim == nil {
		t.Errorf("kubernetes: the storage path %s is not a mounted PersistentVolumeClaim", storage)
	}
	if spec.Replicas != 1 {
		t.Errorf("kubernetes: replicas %d on SQLite: one daemon per database until the PostgreSQL backend exists (issue #12)", spec.Replicas)
	}
	for _, g := range mustKustomization(t).ConfigMapGenerator {
		found := false
		for _, v := range mounts {
			found = found || (v.ConfigMap != nil && v.ConfigMap.Name == g.Name)
		}
		if !found {
			t.Errorf("kubernetes: the generated ConfigMap %s is not mounted", g.Name)
		}
	}
	rulesDir := filepath.Dir(args["rules.file"])
	if v, ok := mounts[rulesDir]; !ok || v.ConfigMap == nil {
		t.Errorf("kubernetes: --rules.file=%s is not in a mounted ConfigMap", args["rules.file"])
	}
	configDir := filepath.Dir(args["config.file"])
	if v, ok := mounts[configDir]; !ok || v.ConfigMap == nil {
		t.Errorf("kubernetes: --config.file=%s is not in a mounted ConfigMap", args["config.file"])
	}

	exec, keys := mustSystemdUnit(t)
	sargs := flagArgs(t, "systemd", exec[2:])
	if want := "/var/lib/" + keys["StateDirectory"]; sargs["storage.path"] != want {
		t.Errorf("systemd: --storage.path=%s, want %s (StateDirectory=%s)", sargs["storage.path"], want, keys["StateDirectory"])
	}
	for _, k := range []string{"RestartSec", "StartLimitIntervalSec", "StartLimitBurst"} {
		if keys[k] == "" {
			t.Errorf("systemd: no %s: a broken config would restart for ever", k)
		}
	}
}

// TestExampleConfigs: the config files shipped in deploy/ load as the
// daemon loads them, with every secret where the deployment puts it: a
// *_file under a mounted Secret (Kubernetes) or among the tokens install.sh
// writes (systemd), a *_env set from a Secret.
func TestExampleConfigs(t *testing.T) {
	objs := mustObjects(t)
	_, spec, c := mustWorkload(t, objs)
	args := flagArgs(t, "kubernetes", c.Args)
	secretDirs := map[string]bool{}
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				secretDirs[m.MountPath] = true
			}
		}
	}
	secretEnv := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretEnv[e.Name] = true
		}
	}
	k8sConfig := filepath.Join(k8sDir, "config", filepath.Base(args["config.file"]))
	mustLoadConfig(t, k8sConfig,
		func(name string) bool { return secretDirs[filepath.Dir(name)] },
		func(key string) bool { return secretEnv[key] })

	install, err := os.ReadFile(filepath.Join("systemd", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^for name in ([^;]+); do\n\tf="\$root(/etc/alertbridge/secrets)/\$name"`).FindSubmatch(install)
	if m == nil {
		t.Fatal("install.sh: no loop writing the tokens to /etc/alertbridge/secrets")
	}
	tokens := map[string]bool{}
	for _, n := range strings.Fields(string(m[1])) {
		tokens[string(m[2])+"/"+n] = true
	}
	mustLoadConfig(t, filepath.Join("systemd", "alertbridge.yml"),
		func(name string) bool { return tokens[name] },
		func(string) bool { return false })

	for _, files := range [][]string{{filepath.Join(k8sDir, "rules", "*.yml")}, {filepath.Join("examples", "rules.yml")}} {
		if _, err := rules.LoadFiles(files); err != nil {
			t.Errorf("rules %s: %v", files, err)
		}
	}
}

// mustLoadConfig parses the config file at path as the daemon does, with
// each secret file and variable answered (a distinct value each) only if
// the deployment provides it.
func mustLoadConfig(t *testing.T, path string, hasFile, hasEnv func(string) bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Parse(path, data, config.ParseOptions{
		ReadFile: func(name string) ([]byte, error) {
			if !hasFile(name) {
				return nil, errors.New("the deployment provides no such secret file")
			}
			return []byte("secret-from-" + name), nil
		},
		LookupEnv: func(key string) (string, bool) {
			if !hasEnv(key) {
				return "", false
			}
			return "secret-from-" + key, true
		},
	})
	if err != nil {
		t.Errorf("%s does not load:\n%v", path, err)
	}
}

// TestVersionStamp: the image's binary says its version as `make build`'s
// does: the Dockerfile sets every -X the Makefile sets.
func TestVersionStamp(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+)\s*:=\s*(.*)$`).FindAllStringSubmatch(string(mk), -1) {
		vars[m[1]] = m[2]
	}
	ldflags := regexp.MustCompile(`\$\((\w+)\)`).ReplaceAllStringFunc(vars["LDFLAGS"], func(s string) string {
		return vars[s[2:len(s)-1]]
	})
	run := strings.Join(mustDockerfile(t).run, "\n")
	xs := regexp.MustCompile(`-X ([\w./-]+)=`).FindAllStringSubmatch(ldflags, -1)
	if len(xs) == 0 {
		t.Fatalf("Makefile: no -X in LDFLAGS %q", vars["LDFLAGS"])
	}
	for _, x := range xs {
		if !strings.Contains(run, "-X "+x[1]+"=") {
			t.Errorf("Dockerfile: the build does not set -X %s, which make build sets", x[1])
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath"} {
		if !strings.Contains(run, want) {
			t.Errorf("Dockerfile: the build lacks %s", want)
		}
	}
}

// TestHAOverlay: the PostgreSQL overlay passes flags the daemon has, names
// a database, takes the password from a secret (never the DSN), runs more
// than one replica, and, where kubectl is installed, renders.
func TestHAOverlay(t *testing.T) {
	const dir = "kubernetes-ha"
	data, err := os.ReadFile(filepath.Join(dir, "deployment-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var o object
	if err := yaml.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	o.file = "deployment-patch.yaml"
	var spec struct {
		Replicas int
		Template struct {
			Spec struct {
				Containers []struct {
					Name string
					Args []string
					Env  []struct{ Name string }
				}
			}
		}
	}
	if err := o.Spec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.Replicas < 2 {
		t.Errorf("the HA overlay runs %d replicas", spec.Replicas)
	}
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want the alertbridge container, got %d", len(spec.Template.Spec.Containers))
	}
	c := spec.Template.Spec.Containers[0]
	flags := checkFlags(t, "kubernetes-ha container args", c.Args)
	dsn, ok := flags["storage.dsn"]
	if !ok || !strings.HasPrefix(dsn, "postgres://") {
		t.Errorf("the HA overlay passes no PostgreSQL --storage.dsn: %q", c.Args)
	}
	if u, err := url.Parse(dsn); err == nil {
		if _, has := u.User.Password(); has {
			t.Error("the HA overlay's DSN carries a password")
		}
	}
	hasPW := false
	for _, e := range c.Env {
		hasPW = hasPW || e.Name == "PGPASSWORD"
	}
	if !hasPW {
		t.Error("the HA overlay sets no PGPASSWORD from a secret")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not installed: the overlay is not rendered")
		return
	}
	out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, out)
	}
	for _, want := range []string{"replicas: 3", "--storage.dsn=", "minAvailable: 2", "emptyDir"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the rendered overlay lacks %q", want)
		}
	}
	if strings.Contains(string(out), "kind: PersistentVolumeClaim") {
		t.Error("the rendered overlay still claims the SQLite volume")
	}
}
