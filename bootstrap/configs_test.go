package bootstrap

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// variables lists every environment variable Config reads, with its
// default and whether it has one.
func variables(t reflect.Type, into map[string]*string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("env"), ",")[0]
		if f.Type.Kind() == reflect.Struct && name == "" {
			variables(f.Type, into)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		if d, ok := f.Tag.Lookup("envDefault"); ok {
			into[name] = &d
		} else {
			into[name] = nil
		}
	}
}

type envLine struct {
	name, value string
	commented   bool
}

var envLineRE = regexp.MustCompile(`^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$`)

// readEnvFile reads the NAME=value lines of a file in configs/, and the
// "# NAME=" lines that name a variable left unset.
func readEnvFile(t *testing.T, name string) []envLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var lines []envLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := envLineRE.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			lines = append(lines, envLine{name: m[2], value: m[3], commented: m[1] != ""})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestConfigsAPIEnvListsEveryVariableWithItsDefault(t *testing.T) {
	known := map[string]*string{}
	variables(reflect.TypeFor[Config](), known)
	seen := map[string]bool{}
	for _, l := range readEnvFile(t, "api.env") {
		def, ok := known[l.name]
		switch {
		case !ok:
			t.Errorf("configs/api.env: %s is not a variable the service reads", l.name)
		case seen[l.name]:
			t.Errorf("configs/api.env: %s is listed twice", l.name)
		case l.commented && def != nil:
			t.Errorf("configs/api.env: %s has the default %q; list it uncommented", l.name, *def)
		case !l.commented && def == nil:
			t.Errorf("configs/api.env: %s has no default; leave it commented out", l.name)
		case !l.commented && l.value != *def:
			t.Errorf("configs/api.env: %s=%s, but its default is %q", l.name, l.value, *def)
		}
		seen[l.name] = true
	}
	for name := range known {
		if !seen[name] {
			t.Errorf("configs/api.env does not list %s", name)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range known {
		if !strings.Contains(string(readme), "| `"+name+"` |") {
			t.Errorf("README.md's configuration table does not document %s", name)
		}
	}
}

func TestConfigsProductionExampleIsValidOnceGivenASecret(t *testing.T) {
	environ := map[string]string{}
	for _, l := range readEnvFile(t, "production.env.example") {
		if !l.commented {
			environ[l.name] = l.value
		}
	}
	if environ["APP_ENV"] != EnvProduction || environ["AUTH_HS256_SECRET"] != "" || environ["PROJECT_KEY_SECRET"] != "" {
		t.Fatalf("the example must be for production and hold no secret: %v", environ)
	}
	// As shipped it must not start: the secrets are blank.
	_, err := LoadConfig(environ)
	if err == nil || !strings.Contains(err.Error(), "AUTH_HS256_SECRET is required in production") ||
		!strings.Contains(err.Error(), "PROJECT_KEY_SECRET is required in production") || strings.Count(err.Error(), "\n  - ") != 2 {
		t.Fatalf("the example as shipped: %v; want only the two missing secrets reported", err)
	}
	environ["AUTH_HS256_SECRET"] = strings.Repeat("s", 48) // stand-ins for generated secrets
	environ["PROJECT_KEY_SECRET"] = strings.Repeat("k", 48)
	cfg, err := LoadConfig(environ)
	if err != nil {
		t.Fatalf("the example with a secret is refused: %v", err)
	}
	if cfg.OTel.MetricsAddr != ":9090" || cfg.Log.Format != "json" || cfg.Redis.URL == "" {
		t.Fatalf("the example was not read as written: %+v", cfg)
	}
}
