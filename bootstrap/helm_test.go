package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// The chart deploy/helm/api as helm renders it: only the fields the tests read.
type (
	k8sObject struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   k8sMetadata       `yaml:"metadata"`
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
		Spec       k8sSpec           `yaml:"spec"`
	}
	k8sMetadata struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	k8sSpec struct {
		Replicas *int `yaml:"replicas"`
		// A Service's selector is a map of labels; the others' hold matchLabels.
		Selector       map[string]any   `yaml:"selector"`
		Template       k8sPodTemplate   `yaml:"template"`
		Ports          []k8sSvcPort     `yaml:"ports"`
		Endpoints      []k8sEndpoint    `yaml:"endpoints"`
		ScaleTargetRef k8sScaleTarget   `yaml:"scaleTargetRef"`
		MaxUnavailable any              `yaml:"maxUnavailable"`
		MinAvailable   any              `yaml:"minAvailable"`
		Strategy       map[string]any   `yaml:"strategy"`
		Metrics        []map[string]any `yaml:"metrics"`
	}
	k8sPodTemplate struct {
		Metadata k8sMetadata `yaml:"metadata"`
		Spec     k8sPodSpec  `yaml:"spec"`
	}
	k8sPodSpec struct {
		TerminationGracePeriodSeconds *int           `yaml:"terminationGracePeriodSeconds"`
		AutomountServiceAccountToken  *bool          `yaml:"automountServiceAccountToken"`
		RestartPolicy                 string         `yaml:"restartPolicy"`
		SecurityContext               k8sSecurity    `yaml:"securityContext"`
		InitContainers                []k8sContainer `yaml:"initContainers"`
		Containers                    []k8sContainer `yaml:"containers"`
		Volumes                       []struct {
			Name   string `yaml:"name"`
			Secret *struct {
				SecretName string `yaml:"secretName"`
			} `yaml:"secret"`
		} `yaml:"volumes"`
	}
	k8sContainer struct {
		Name    string             `yaml:"name"`
		Image   string             `yaml:"image"`
		Command []string           `yaml:"command"`
		Args    []string           `yaml:"args"`
		Ports   []k8sContainerPort `yaml:"ports"`
		EnvFrom []struct {
			ConfigMapRef *struct {
				Name string `yaml:"name"`
			} `yaml:"configMapRef"`
			SecretRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Env []struct {
			Name      string  `yaml:"name"`
			Value     *string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		StartupProbe    *k8sProbe      `yaml:"startupProbe"`
		LivenessProbe   *k8sProbe      `yaml:"livenessProbe"`
		ReadinessProbe  *k8sProbe      `yaml:"readinessProbe"`
		Lifecycle       map[string]any `yaml:"lifecycle"`
		SecurityContext k8sSecurity    `yaml:"securityContext"`
		VolumeMounts    []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	k8sContainerPort struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	}
	k8sProbe struct {
		HTTPGet *struct {
			Path   string `yaml:"path"`
			Port   any    `yaml:"port"`
			Scheme string `yaml:"scheme"`
		} `yaml:"httpGet"`
		PeriodSeconds    int `yaml:"periodSeconds"`
		TimeoutSeconds   int `yaml:"timeoutSeconds"`
		FailureThreshold int `yaml:"failureThreshold"`
	}
	k8sSecurity struct {
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		Privileged               *bool  `yaml:"privileged"`
		Capabilities             *struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
		SeccompProfile *struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	}
	k8sSvcPort struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort any    `yaml:"targetPort"`
	}
	k8sEndpoint struct {
		Port       string `yaml:"port"`
		TargetPort any    `yaml:"targetPort"`
		Path       string `yaml:"path"`
	}
	k8sScaleTarget struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Name       string `yaml:"name"`
	}
)

const (
	helmChart   = "../deploy/helm/api"
	helmRelease = "project-api"
	helmSecret  = "api-secrets"
	// helmTLSSecret is the kubernetes.io/tls Secret the TLS variant names.
	helmTLSSecret = "api-tls"
	// The image's user (distroless nonroot, Dockerfile).
	imageUser = 65532
)

// helmEnabled renders every optional object the chart has.
var helmEnabled = []string{"--set", "autoscaling.enabled=true", "--set", "serviceMonitor.enabled=true"}

// helmBinary is the helm make helm-tools builds, at the version the
// Makefile pins; a missing one fails the test.
func helmBinary(t *testing.T) string {
	t.Helper()
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^HELM_VERSION := (v\S+)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile pins no HELM_VERSION")
	}
	bin, err := filepath.Abs(filepath.Join("..", ".tools", "helm-"+string(m[1]), "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm %s is not installed in %s: run make helm-tools (make test does)", m[1], filepath.Dir(bin))
	}
	return bin
}

// runHelm runs helm with its cache and configuration in a temporary
// directory, so nothing of the user's is read or written.
func runHelm(t *testing.T, bin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), bin, args...) //nolint:gosec // the pinned helm, with the test's arguments
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// renderChart is helm template of the chart with the Secret's name and
// extra arguments, parsed.
func renderChart(t *testing.T, bin string, extra ...string) []k8sObject {
	t.Helper()
	args := append([]string{"template", helmRelease, helmChart, "--namespace", "api", "--set", "existingSecret=" + helmSecret}, extra...)
	out, stderr, err := runHelm(t, bin, args...)
	if err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, stderr)
	}
	var objs []k8sObject
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template's output does not parse: %v\n%s", err, out)
		}
		if o.Kind != "" {
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 {
		t.Fatalf("helm template rendered nothing:\n%s", out)
	}
	return objs
}

// renderedChart is the chart's objects by kind, each kind once.
type renderedChart map[string]k8sObject

func byKind(t *testing.T, objs []k8sObject) renderedChart {
	t.Helper()
	c := renderedChart{}
	for _, o := range objs {
		if _, dup := c[o.Kind]; dup {
			t.Errorf("two objects of kind %s (%s and %s)", o.Kind, c[o.Kind].Metadata.Name, o.Metadata.Name)
		}
		c[o.Kind] = o
	}
	return c
}

// TestHelmChartLintsCleanly: helm lint --strict finds nothing with the
// defaults and with every optional object rendered.
func TestHelmChartLintsCleanly(t *testing.T) {
	bin := helmBinary(t)
	for _, extra := range [][]string{nil, helmEnabled} {
		args := append([]string{"lint", "--strict", helmChart, "--set", "existingSecret=" + helmSecret}, extra...)
		out, stderr, err := runHelm(t, bin, args...)
		if err != nil || !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm %v: %v\n%s%s", args, err, out, stderr)
		}
	}
}

// TestHelmChartMatchesTheConfiguration: the rendered chart sets only
// variables the code reads, with values LoadConfig accepts in production;
// its probes, Service, ServiceMonitor and grace period agree with those
// values; secrets come only from the existing Secret; every container is
// locked down; and the migration hook runs api migrate up with the same
// configuration before the pods start.
func TestHelmChartMatchesTheConfiguration(t *testing.T) {
	bin := helmBinary(t)
	known := map[string]*string{}
	variables(reflect.TypeFor[Config](), known)

	for _, tc := range []struct {
		name     string
		extra    []string
		optional bool
	}{
		{"defaults", nil, false},
		{"autoscaling and ServiceMonitor", helmEnabled, true},
		{"HTTPS in the pods", []string{"--set", "tls.secretName=" + helmTLSSecret}, false},
		{"cleartext HTTP/2", []string{"--set", "http.h2c=true"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := renderChart(t, bin, tc.extra...)
			c := byKind(t, objs)
			for _, o := range objs {
				if o.Kind == "Secret" {
					t.Errorf("the chart renders Secret %s: secrets come from existingSecret only", o.Metadata.Name)
				}
			}
			for _, kind := range []string{"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Job"} {
				if _, ok := c[kind]; !ok {
					t.Fatalf("no %s rendered (%d objects)", kind, len(objs))
				}
			}
			for _, kind := range []string{"HorizontalPodAutoscaler", "ServiceMonitor"} {
				if _, ok := c[kind]; ok != tc.optional {
					t.Errorf("%s rendered: %v, want %v", kind, ok, tc.optional)
				}
			}
			cfg := checkEnvironment(t, c, known)
			if slices.Contains(tc.extra, "http.h2c=true") != cfg.HTTP.H2C ||
				slices.Contains(tc.extra, "tls.secretName="+helmTLSSecret) != (cfg.HTTP.TLSCertFile != "") {
				t.Errorf("values %v gave HTTP_H2C %v and HTTP_TLS_CERT_FILE %q", tc.extra, cfg.HTTP.H2C, cfg.HTTP.TLSCertFile)
			}
			checkDeployment(t, c, cfg)
			checkMigrationJob(t, c)
			checkSelectors(t, c)
			if tc.optional {
				checkAutoscaler(t, c)
				checkServiceMonitor(t, c, cfg)
			} else if d := c["Deployment"]; d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
				t.Errorf("without autoscaling the Deployment runs %v replicas, want 2 or more", d.Spec.Replicas)
			}
		})
	}

	t.Run("migrations disabled", func(t *testing.T) {
		c := byKind(t, renderChart(t, bin, "--set", "migrations.enabled=false"))
		if _, ok := c["Job"]; ok {
			t.Error("migrations.enabled=false still renders the migration Job")
		}
		if got := c["ConfigMap"].Data["DB_MIGRATE_ON_START"]; got != "true" {
			t.Errorf("without the migration Job DB_MIGRATE_ON_START is %q: nothing would migrate", got)
		}
	})
	t.Run("grace period follows the shutdown values", func(t *testing.T) {
		c := byKind(t, renderChart(t, bin, "--set", "shutdown.delaySeconds=40", "--set", "shutdown.timeoutSeconds=50"))
		cfg := checkEnvironment(t, c, known)
		if cfg.HTTP.ShutdownDelay != 40*time.Second || cfg.HTTP.ShutdownTimeout != 50*time.Second {
			t.Errorf("shutdown values became HTTP_SHUTDOWN_DELAY %v and HTTP_SHUTDOWN_TIMEOUT %v", cfg.HTTP.ShutdownDelay, cfg.HTTP.ShutdownTimeout)
		}
		checkDeployment(t, c, cfg)
	})
}

// TestHelmChartRefusesWhatWouldDisagree: values that would leave the pods
// without their secrets, put a secret in the ConfigMap, or let the
// configuration and the chart's computed settings differ fail to render.
func TestHelmChartRefusesWhatWouldDisagree(t *testing.T) {
	bin := helmBinary(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no Secret named", nil, "existingSecret is required"},
		{"a managed variable in config", []string{"--set", "existingSecret=s", "--set", "config.HTTP_SHUTDOWN_DELAY=30s"}, "config.HTTP_SHUTDOWN_DELAY is set by the chart"},
		{"a secret in config", []string{"--set", "existingSecret=s", "--set", "config.DATABASE_URL=postgres://x"}, "config.DATABASE_URL is listed in secretKeys"},
		{"a stop the binary refuses", []string{"--set", "existingSecret=s", "--set", "shutdown.delaySeconds=200", "--set", "shutdown.timeoutSeconds=101"}, "must be at most 300"},
		{"a ServiceMonitor without metrics", []string{"--set", "existingSecret=s", "--set", "serviceMonitor.enabled=true", "--set", "metrics.enabled=false"}, "serviceMonitor.enabled needs metrics.enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", helmRelease, helmChart}, tc.args...)
			_, stderr, err := runHelm(t, bin, args...)
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Errorf("helm %v: err %v, want a failure saying %q\n%s", args, err, tc.want, stderr)
			}
		})
	}
	// The bound the chart applies is the binary's.
	_, err := LoadConfig(map[string]string{"HTTP_SHUTDOWN_DELAY": "200s", "HTTP_SHUTDOWN_TIMEOUT": "101s"})
	if err == nil || !strings.Contains(err.Error(), "HTTP_SHUTDOWN_DELAY") {
		t.Errorf("the configuration accepts a stop the chart refuses: %v", err)
	}
}

// TestHelmChartServesWhatItProbes runs the rendered containers' commands
// with the rendered configuration: the migration Job's, then the
// Deployment's, whose startup, liveness and readiness paths answer 200 and
// whose ServiceMonitor path serves Prometheus metrics on METRICS_ADDR.
// Only the addresses (free loopback ports instead of the container's),
// the database (an embedded one), Redis (none) and the shutdown delay
// (0, to stop quickly) differ from the chart's values.
func TestHelmChartServesWhatItProbes(t *testing.T) {
	bin := helmBinary(t)
	c := byKind(t, renderChart(t, bin, helmEnabled...))
	env := maps.Clone(c["ConfigMap"].Data)
	for _, name := range secretRefs(t, container(t, c["Deployment"], "api")) {
		env[name] = strings.Repeat("s", 40)
	}
	delete(env, "REDIS_URL")
	env["DATABASE_URL"] = "sqlite://" + t.TempDir() + "/helm.db"
	env["HTTP_ADDR"], env["METRICS_ADDR"] = freeLoopbackAddr(t), freeLoopbackAddr(t)
	env["HTTP_SHUTDOWN_DELAY"] = "0s"
	env["LOG_LEVEL"] = "error"

	job := container(t, c["Job"], "migrate")
	var out, errb syncBuffer
	if code := Run(t.Context(), job.Args, env, &out, &errb); code != 0 || !strings.Contains(out.String(), "applied") {
		t.Fatalf("the migration Job's command %v exited %d:\n%s%s", job.Args, code, out.String(), errb.String())
	}

	api := container(t, c["Deployment"], "api")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	exited := make(chan int, 1)
	go func() { exited <- Run(ctx, api.Args, env, &out, &errb) }()

	get := func(base, path string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = res.Body.Close() }()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	probes := map[string]*k8sProbe{"startup": api.StartupProbe, "liveness": api.LivenessProbe, "readiness": api.ReadinessProbe}
	for _, name := range []string{"startup", "liveness", "readiness"} {
		p := probes[name]
		if p == nil || p.HTTPGet == nil {
			t.Fatalf("the %s probe is not an HTTP GET", name)
		}
		var code int
		var body string
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if code, body = get(env["HTTP_ADDR"], p.HTTPGet.Path); code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the %s probe's GET %s answers %d: %s\n%s", name, p.HTTPGet.Path, code, body, errb.String())
			}
		}
	}
	for _, ep := range c["ServiceMonitor"].Spec.Endpoints {
		code, body := get(env["METRICS_ADDR"], ep.Path)
		if code != http.StatusOK || !strings.Contains(body, "# TYPE ") {
			t.Errorf("the ServiceMonitor scrapes %s on METRICS_ADDR, which answers %d:\n%.300s", ep.Path, code, body)
		}
	}
	stop()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("the Deployment's command exited %d after its stop:\n%s", code, errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the Deployment's command did not stop")
	}
}

// checkEnvironment checks the ConfigMap and the Secret references and
// returns the configuration they make, with stand-ins for the secrets.
func checkEnvironment(t *testing.T, c renderedChart, known map[string]*string) Config {
	t.Helper()
	data := c["ConfigMap"].Data
	for name := range data {
		if _, ok := known[name]; !ok {
			t.Errorf("the ConfigMap sets %s, which the API does not read", name)
		}
		if secretVariable(name) {
			t.Errorf("the ConfigMap holds %s: secrets come from existingSecret", name)
		}
	}
	api := container(t, c["Deployment"], "api")
	refs := secretRefs(t, api)
	for _, name := range []string{"DATABASE_URL", "REDIS_URL", "AUTH_HS256_SECRET", "PROJECT_KEY_SECRET"} {
		if !slices.Contains(refs, name) {
			t.Errorf("the Deployment does not read %s from the Secret (it reads %v)", name, refs)
		}
	}
	env := maps.Clone(data)
	for _, name := range refs {
		if _, ok := data[name]; ok {
			t.Errorf("%s is both in the ConfigMap and read from the Secret: the Secret's hides the other", name)
		}
		env[name] = strings.Repeat("s", 40)
	}
	env["DATABASE_URL"] = "postgres://api@postgres:5432/api?sslmode=require"
	env["REDIS_URL"] = "redis://redis:6379/0"
	cfg, err := LoadConfig(env)
	if err != nil {
		t.Fatalf("the chart's configuration is refused: %v", err)
	}
	if cfg.Env != EnvProduction {
		t.Errorf("the chart runs in %s, want %s", cfg.Env, EnvProduction)
	}
	_, migrates := c["Job"]
	if migrates && cfg.Database.MigrateOnStart {
		t.Error("with the migration Job the pods migrate at start too: DB_MIGRATE_ON_START must be false")
	}
	return cfg
}

// secretVariable tells the variables that hold a credential.
func secretVariable(name string) bool {
	return strings.Contains(name, "SECRET") || name == "DATABASE_URL" || name == "REDIS_URL"
}

// secretRefs checks that a container's variables from a Secret are read
// from existingSecret under their own names, and returns the names.
func secretRefs(t *testing.T, ct k8sContainer) []string {
	t.Helper()
	known := map[string]*string{}
	variables(reflect.TypeFor[Config](), known)
	var names []string
	for _, e := range ct.Env {
		if _, ok := known[e.Name]; !ok {
			t.Errorf("container %s sets %s, which the API does not read", ct.Name, e.Name)
		}
		if e.ValueFrom == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref == nil {
			t.Errorf("container %s's %s comes from something other than a Secret", ct.Name, e.Name)
			continue
		}
		if ref.Name != helmSecret || ref.Key != e.Name {
			t.Errorf("container %s's %s is key %s of Secret %s, want key %s of %s", ct.Name, e.Name, ref.Key, ref.Name, e.Name, helmSecret)
			continue
		}
		names = append(names, e.Name)
	}
	for _, from := range ct.EnvFrom {
		if from.SecretRef != nil {
			t.Errorf("container %s takes every key of Secret %s as a variable: list them in secretKeys", ct.Name, from.SecretRef.Name)
		}
	}
	return names
}

func checkDeployment(t *testing.T, c renderedChart, cfg Config) {
	t.Helper()
	d := c["Deployment"]
	pod := d.Spec.Template.Spec
	api := container(t, d, "api")
	if len(api.Command) > 0 || !slices.Equal(api.Args, []string{"serve"}) {
		t.Errorf("the API container runs %v %v, want the image's entrypoint with serve", api.Command, api.Args)
	}
	if len(api.EnvFrom) != 1 || api.EnvFrom[0].ConfigMapRef == nil || api.EnvFrom[0].ConfigMapRef.Name != c["ConfigMap"].Metadata.Name {
		t.Errorf("the API container does not take its configuration from ConfigMap %s", c["ConfigMap"].Metadata.Name)
	}
	if d.Spec.Template.Metadata.Annotations["checksum/config"] == "" {
		t.Error("the pods carry no checksum of the configuration: a changed ConfigMap would not roll them")
	}
	httpPort := helmPort(t, cfg.HTTP.Addr)
	if got := containerPort(api, "http"); got != httpPort {
		t.Errorf("container port http is %d, HTTP_ADDR %s listens on %d", got, cfg.HTTP.Addr, httpPort)
	}
	probes := []struct {
		name, path string
		p          *k8sProbe
	}{
		{"startup", "/health/live", api.StartupProbe},
		{"liveness", "/health/live", api.LivenessProbe},
		{"readiness", "/health/ready", api.ReadinessProbe},
	}
	for _, pr := range probes {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("no %s probe over HTTP", pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			t.Errorf("the %s probe asks %s, want %s", pr.name, pr.p.HTTPGet.Path, pr.path)
		}
		if want := map[bool]string{true: "HTTPS", false: ""}[cfg.HTTP.TLSCertFile != ""]; pr.p.HTTPGet.Scheme != want {
			t.Errorf("the %s probe asks over %q, want %q (HTTP_TLS_CERT_FILE %q)", pr.name, pr.p.HTTPGet.Scheme, want, cfg.HTTP.TLSCertFile)
		}
		if got := resolvePort(api, pr.p.HTTPGet.Port); got != httpPort {
			t.Errorf("the %s probe asks port %v (%d), HTTP_ADDR listens on %d", pr.name, pr.p.HTTPGet.Port, got, httpPort)
		}
		if pr.p.TimeoutSeconds < 1 || pr.p.PeriodSeconds < pr.p.TimeoutSeconds || pr.p.FailureThreshold < 1 {
			t.Errorf("the %s probe's timing does not hold: %+v", pr.name, *pr.p)
		}
	}
	if r := api.ReadinessProbe; r != nil && time.Duration(r.TimeoutSeconds)*time.Second <= readinessDeadline {
		t.Errorf("the readiness probe gives up after %ds, but /health/ready may take %v", r.TimeoutSeconds, readinessDeadline)
	}
	if s := api.StartupProbe; s != nil {
		if budget := time.Duration(s.PeriodSeconds*s.FailureThreshold) * time.Second; budget <= cfg.Database.ConnectTimeout+startupSlack {
			t.Errorf("the startup probe gives a start %v, but the binary allows itself DB_CONNECT_TIMEOUT + %v = %v", budget, startupSlack, cfg.Database.ConnectTimeout+startupSlack)
		}
	}
	checkTLSFiles(t, pod, api, cfg)
	stop := cfg.HTTP.ShutdownDelay + cfg.HTTP.ShutdownTimeout
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= stop {
		t.Errorf("terminationGracePeriodSeconds %v does not cover HTTP_SHUTDOWN_DELAY + HTTP_SHUTDOWN_TIMEOUT = %v and the closing of the pools", helmInt(g), stop)
	}
	for _, ct := range allContainers(d) {
		if _, ok := ct.Lifecycle["preStop"]; ok {
			t.Errorf("container %s has a preStop hook: the binary waits HTTP_SHUTDOWN_DELAY itself, and a hook's time counts against the grace period (docs/deployment.md)", ct.Name)
		}
	}
	if ru, _ := d.Spec.Strategy["rollingUpdate"].(map[string]any); ru == nil || fmt.Sprint(ru["maxUnavailable"]) != "0" {
		t.Errorf("a rollout may stop a pod before its replacement is ready: strategy %v", d.Spec.Strategy)
	}
	checkLockedDown(t, d)
}

// checkTLSFiles: with TLS, the key pair's files are in a directory the
// container mounts from the tls Secret.
func checkTLSFiles(t *testing.T, pod k8sPodSpec, api k8sContainer, cfg Config) {
	t.Helper()
	if cfg.HTTP.TLSCertFile == "" {
		return
	}
	for _, file := range []string{cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile} {
		found := false
		for _, m := range api.VolumeMounts {
			if path.Dir(file) != m.MountPath {
				continue
			}
			for _, v := range pod.Volumes {
				found = found || (v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == helmTLSSecret)
			}
		}
		if !found {
			t.Errorf("%s is in no directory mounted from Secret %s", file, helmTLSSecret)
		}
	}
}

// checkLockedDown: every container of the workload runs as the image's
// non-root user, read-only, without privileges or capabilities, under the
// runtime's seccomp profile, and no service-account token is mounted.
func checkLockedDown(t *testing.T, o k8sObject) {
	t.Helper()
	pod := o.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s %s mounts a service-account token the API never uses", o.Kind, o.Metadata.Name)
	}
	for _, ct := range allContainers(o) {
		sc, ps := ct.SecurityContext, pod.SecurityContext
		where := o.Kind + " " + o.Metadata.Name + ", container " + ct.Name
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = ps.RunAsNonRoot
		}
		user := sc.RunAsUser
		if user == nil {
			user = ps.RunAsUser
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = ps.SeccompProfile
		}
		if nonRoot == nil || !*nonRoot {
			t.Errorf("%s: runAsNonRoot is not true", where)
		}
		if user == nil || *user != imageUser {
			t.Errorf("%s: runAsUser is %v, want %d", where, helmInt(user), imageUser)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: the root filesystem is writable", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", where)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", where)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities are not drop ALL (%+v)", where, sc.Capabilities)
		}
		if seccomp == nil || seccomp.Type != "RuntimeDefault" {
			t.Errorf("%s: seccompProfile is not RuntimeDefault", where)
		}
	}
}

func checkMigrationJob(t *testing.T, c renderedChart) {
	t.Helper()
	j := c["Job"]
	hooks := strings.Split(j.Metadata.Annotations["helm.sh/hook"], ",")
	if !slices.Contains(hooks, "pre-install") || !slices.Contains(hooks, "pre-upgrade") {
		t.Errorf("the migration Job is hook %v, want pre-install and pre-upgrade", hooks)
	}
	m := container(t, j, "migrate")
	api := container(t, c["Deployment"], "api")
	if len(m.Command) > 0 || !slices.Equal(m.Args, []string{"migrate", "up"}) {
		t.Errorf("the migration Job runs %v %v, want the image's entrypoint with migrate up", m.Command, m.Args)
	}
	if _, ok := commandHelp[m.Args[0]]; !ok || !strings.Contains(commandHelp[m.Args[0]], "  "+m.Args[len(m.Args)-1]+" ") {
		t.Errorf("the migration Job's command %v is not one api knows", m.Args)
	}
	if m.Image != api.Image {
		t.Errorf("the migration Job runs image %s, the Deployment %s", m.Image, api.Image)
	}
	if j.Spec.Template.Spec.RestartPolicy != "Never" && j.Spec.Template.Spec.RestartPolicy != "OnFailure" {
		t.Errorf("the migration Job's restartPolicy is %q", j.Spec.Template.Spec.RestartPolicy)
	}
	for _, from := range m.EnvFrom {
		if from.ConfigMapRef != nil {
			t.Errorf("the migration Job reads ConfigMap %s, which a pre-install hook runs before", from.ConfigMapRef.Name)
		}
	}
	env := map[string]string{}
	for _, e := range m.Env {
		if e.Value != nil {
			env[e.Name] = *e.Value
		}
	}
	if !maps.Equal(env, c["ConfigMap"].Data) {
		t.Errorf("the migration Job's configuration differs from the ConfigMap's:\n job %v\n map %v", env, c["ConfigMap"].Data)
	}
	if got, want := secretRefs(t, m), secretRefs(t, api); !slices.Equal(got, want) {
		t.Errorf("the migration Job reads %v from the Secret, the Deployment %v", got, want)
	}
	checkLockedDown(t, j)
}

// checkSelectors: the Deployment, Service and PodDisruptionBudget select
// the API's pods and not the migration Job's.
func checkSelectors(t *testing.T, c renderedChart) {
	t.Helper()
	pods := c["Deployment"].Spec.Template.Metadata.Labels
	migrate := c["Job"].Spec.Template.Metadata.Labels
	for _, s := range []struct {
		what     string
		selector map[string]any
	}{
		{"the Deployment", matchLabels(c["Deployment"])},
		{"the Service", c["Service"].Spec.Selector},
		{"the PodDisruptionBudget", matchLabels(c["PodDisruptionBudget"])},
	} {
		if len(s.selector) == 0 || !selects(s.selector, pods) {
			t.Errorf("%s's selector %v does not select the API's pods %v", s.what, s.selector, pods)
		}
		if s.what != "the Deployment" && selects(s.selector, migrate) {
			t.Errorf("%s's selector %v selects the migration Job's pod %v", s.what, s.selector, migrate)
		}
	}
	api := container(t, c["Deployment"], "api")
	for _, p := range c["Service"].Spec.Ports {
		if resolvePort(api, p.TargetPort) == 0 {
			t.Errorf("Service port %s targets %v, which no container port is", p.Name, p.TargetPort)
		}
	}
}

func checkAutoscaler(t *testing.T, c renderedChart) {
	t.Helper()
	h, d := c["HorizontalPodAutoscaler"], c["Deployment"]
	if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Metadata.Name {
		t.Errorf("the autoscaler scales %+v, not Deployment %s", h.Spec.ScaleTargetRef, d.Metadata.Name)
	}
	if d.Spec.Replicas != nil {
		t.Errorf("with the autoscaler the Deployment still sets replicas (%d): each upgrade would reset them", *d.Spec.Replicas)
	}
	if len(h.Spec.Metrics) == 0 {
		t.Error("the autoscaler has no metric")
	}
}

func checkServiceMonitor(t *testing.T, c renderedChart, cfg Config) {
	t.Helper()
	sm, svc := c["ServiceMonitor"], c["Service"]
	if sm.APIVersion != "monitoring.coreos.com/v1" {
		t.Errorf("the ServiceMonitor is %s", sm.APIVersion)
	}
	if !selects(matchLabels(sm), svc.Metadata.Labels) {
		t.Errorf("the ServiceMonitor's selector %v does not select the Service's labels %v", matchLabels(sm), svc.Metadata.Labels)
	}
	if cfg.OTel.MetricsAddr == "" {
		t.Fatal("the ServiceMonitor is rendered without METRICS_ADDR: the API serves /metrics nowhere a scraper reaches")
	}
	metricsPort := helmPort(t, cfg.OTel.MetricsAddr)
	api := container(t, c["Deployment"], "api")
	if len(sm.Spec.Endpoints) == 0 {
		t.Fatal("the ServiceMonitor has no endpoint")
	}
	for _, ep := range sm.Spec.Endpoints {
		i := slices.IndexFunc(svc.Spec.Ports, func(p k8sSvcPort) bool { return p.Name == ep.Port })
		if i < 0 {
			t.Errorf("the ServiceMonitor scrapes port %q, which the Service does not name", ep.Port)
			continue
		}
		if got := resolvePort(api, svc.Spec.Ports[i].TargetPort); got != metricsPort {
			t.Errorf("the ServiceMonitor scrapes container port %d, METRICS_ADDR %s listens on %d", got, cfg.OTel.MetricsAddr, metricsPort)
		}
		if ep.Path != "/metrics" {
			t.Errorf("the ServiceMonitor scrapes %s, METRICS_ADDR serves /metrics", ep.Path)
		}
	}
}

func container(t *testing.T, o k8sObject, name string) k8sContainer {
	t.Helper()
	for _, ct := range o.Spec.Template.Spec.Containers {
		if ct.Name == name {
			return ct
		}
	}
	t.Fatalf("%s %s has no container %s", o.Kind, o.Metadata.Name, name)
	return k8sContainer{}
}

func allContainers(o k8sObject) []k8sContainer {
	return slices.Concat(o.Spec.Template.Spec.InitContainers, o.Spec.Template.Spec.Containers)
}

func containerPort(ct k8sContainer, name string) int {
	for _, p := range ct.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// resolvePort is the container port a probe or Service port names, by
// name or number; 0 when the container has none such.
func resolvePort(ct k8sContainer, port any) int {
	s := fmt.Sprint(port)
	if n, err := strconv.Atoi(s); err == nil {
		if slices.ContainsFunc(ct.Ports, func(p k8sContainerPort) bool { return p.ContainerPort == n }) {
			return n
		}
		return 0
	}
	return containerPort(ct, s)
}

func matchLabels(o k8sObject) map[string]any {
	m, _ := o.Spec.Selector["matchLabels"].(map[string]any)
	return m
}

// selects reports whether every label of selector is on labels.
func selects(selector map[string]any, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

func helmPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return n
}

func helmInt[T int | int64](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// freeLoopbackAddr is a loopback address no one listens on just now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}
