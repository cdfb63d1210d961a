package bootstrap

import (
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/scoped-api/foundation/adapters/postgres"
)

type composeFile struct {
	Services map[string]struct {
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
	} `yaml:"services"`
}

// TestTheComposeFileMatchesTheConfiguration: compose.yaml's API replicas
// set only variables the code reads, with values it accepts (secrets left
// to the shell), publish the ports those values listen on, and reach the
// other services by their names and ports. docker compose config would
// parse it too, where the docker CLI has its compose plugin.
func TestTheComposeFileMatchesTheConfiguration(t *testing.T) {
	raw, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"api-1", "api-2", "otel-collector", "pgbouncer", "postgres", "redis"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	known := map[string]*string{}
	variables(reflect.TypeOf(Config{}), known)
	secret := regexp.MustCompile(`^\$\{[A-Z0-9_]+:\?[^}]+\}$`)
	port := func(addr string) string {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("%q: %v", addr, err)
		}
		return p
	}
	for _, name := range []string{"api-1", "api-2"} {
		svc := c.Services[name]
		env := map[string]string{}
		for k, v := range svc.Environment {
			if _, ok := known[k]; !ok {
				t.Errorf("%s sets %s, which the API does not read", name, k)
			}
			if strings.Contains(k, "SECRET") {
				if !secret.MatchString(v) {
					t.Errorf("%s holds a value for %s (%q): secrets come from the shell (${%s:?…})", name, k, v, k)
				}
				v = strings.Repeat("s", 40)
			}
			env[k] = v
		}
		cfg, err := LoadConfig(env)
		if err != nil {
			t.Fatalf("%s's environment is refused: %v", name, err)
		}
		if cfg.Env != EnvProduction {
			t.Errorf("%s runs in %s", name, cfg.Env)
		}
		for _, addr := range []string{cfg.HTTP.Addr, cfg.OTel.MetricsAddr} {
			p := port(addr)
			if !slices.ContainsFunc(svc.Ports, func(m string) bool { return strings.HasSuffix(m, ":"+p) }) {
				t.Errorf("%s listens on %s but publishes %v", name, addr, svc.Ports)
			}
		}
		db, _ := url.Parse(cfg.Database.URL)
		if db.Hostname() != "pgbouncer" || db.Port() != c.Services["pgbouncer"].Environment["LISTEN_PORT"] {
			t.Errorf("%s's DATABASE_URL %s is not the pgbouncer service", name, db.Host)
		}
		if c.Services["pgbouncer"].Environment["POOL_MODE"] != "transaction" || cfg.Database.QueryExecMode != postgres.DefaultQueryExecMode {
			t.Errorf("%s: behind a transaction pooler the query mode must be %s (ADR 0018), is %s", name, postgres.DefaultQueryExecMode, cfg.Database.QueryExecMode)
		}
		if r, _ := url.Parse(cfg.Redis.URL); r == nil || r.Hostname() != "redis" || r.Port() != "6379" {
			t.Errorf("%s's REDIS_URL %s is not the redis service", name, cfg.Redis.URL)
		}
		if o, _ := url.Parse(cfg.OTel.Endpoint); o == nil || o.Hostname() != "otel-collector" || o.Port() != "4318" {
			t.Errorf("%s's OTLP endpoint %s is not the collector's OTLP/HTTP port", name, cfg.OTel.Endpoint)
		}
	}
	collector, err := os.ReadFile("../configs/otel-collector.yaml")
	if err != nil || !strings.Contains(string(collector), "endpoint: 0.0.0.0:4318") {
		t.Errorf("configs/otel-collector.yaml does not receive OTLP/HTTP on 4318 (%v)", err)
	}
}
