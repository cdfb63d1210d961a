package architecture

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// want is one violation a fixture plants: the rule, the package at fault
// and the offending import (or declaration, or method).
type want struct{ rule, pkg, offender string }

func (w want) String() string { return fmt.Sprintf("[%s] %s: %s", w.rule, w.pkg, w.offender) }

// readWant parses a fixture's WANT file: "<rule> <package> <offender...>" per line.
func readWant(t *testing.T, dir string) []want {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "WANT"))
	if err != nil {
		t.Fatalf("every fixture lists the violations it plants in a WANT file: %v", err)
	}
	defer func() { _ = f.Close() }()
	var out []want
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, " ", 3)
		if len(parts) != 3 {
			t.Fatalf("%s/WANT: %q is not \"<rule> <package> <offender>\"", dir, line)
		}
		if _, ok := Rules[parts[0]]; !ok {
			t.Fatalf("%s/WANT names unknown rule %q", dir, parts[0])
		}
		out = append(out, want{parts[0], parts[1], parts[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s/WANT plants nothing", dir)
	}
	return out
}

var moduleLine = regexp.MustCompile(`(?m)^module .*$`)

// fixtureModule copies a fixture into a temporary module named
// example.com/fixture that requires what the real module requires, so that
// planted imports of gorm or gin resolve from the module cache, offline.
func fixtureModule(t *testing.T, fixture string) string {
	t.Helper()
	root := moduleRoot(t)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", fixture))); err != nil {
		t.Fatal(err)
	}
	mod := moduleLine.ReplaceAll(gomod, []byte("module example.com/fixture"))
	if err := os.WriteFile(filepath.Join(dst, "go.mod"), mod, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), gosum, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// fixtureEnv keeps the fixtures' go commands offline and off go.mod tidiness.
var fixtureEnv = []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off"}

func fixtures(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestEveryRuleHasAPlantedViolation keeps the rule list and the fixtures
// in step: a rule nobody has seen fire proves nothing.
func TestEveryRuleHasAPlantedViolation(t *testing.T) {
	planted := map[string][]string{}
	for _, fx := range fixtures(t) {
		for _, w := range readWant(t, filepath.Join("testdata", fx)) {
			planted[w.rule] = append(planted[w.rule], fx)
		}
	}
	var missing []string
	for rule := range Rules {
		if len(planted[rule]) == 0 {
			missing = append(missing, rule)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("rules without a planted violation in testdata/: %s", strings.Join(missing, ", "))
	}
}

// TestPlantedViolationsAreReported runs the checker on every fixture. It
// fails when a planted violation is not reported (the rule does not fire)
// and when something unplanted is (the rule misfires).
func TestPlantedViolationsAreReported(t *testing.T) {
	for _, fixture := range fixtures(t) {
		t.Run(fixture, func(t *testing.T) {
			t.Parallel()
			wants := readWant(t, filepath.Join("testdata", fixture))
			dir := fixtureModule(t, fixture)
			r, err := Check(t.Context(), dir, Config{Env: fixtureEnv})
			if err != nil {
				t.Fatal(err)
			}
			found := make([]bool, len(r.Violations))
			for _, w := range wants {
				hit := -1
				for i, v := range r.Violations {
					if v.Rule == w.rule && v.Package == w.pkg && v.Offender == w.offender {
						hit = i
						break
					}
				}
				if hit < 0 {
					t.Errorf("rule %q did not report the planted violation %s\nthe checker reported:\n%s", w.rule, w, r)
					continue
				}
				found[hit] = true
				v := r.Violations[hit]
				if !strings.Contains(v.String(), w.offender) || !strings.Contains(v.String(), w.rule) || v.Fix == "" {
					t.Errorf("the message must name the rule and the offender and say how to fix it:\n%s", v)
				}
			}
			for i, v := range r.Violations {
				if !found[i] {
					t.Errorf("unplanted violation reported (the rule misfires, or WANT is incomplete):\n%s", v)
				}
			}
			t.Logf("%s", r)
		})
	}
}
