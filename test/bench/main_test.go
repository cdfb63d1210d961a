package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve the bare baseline when the
// foundation suite starts it as its child.
func TestMain(m *testing.M) {
	if serveBareIfAsked() {
		return
	}
	os.Exit(m.Run())
}

// TestSuitesRun keeps `make bench` from rotting: every suite runs briefly
// and produces each of its figures from error-free requests. The figures
// themselves are not judged here (that is what `make bench` is for).
func TestSuitesRun(t *testing.T) {
	o := options{duration: 300 * time.Millisecond, rounds: 1, concurrency: 4, smoke: true}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			res, err := s.run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) == 0 {
				t.Fatal("no figures")
			}
			for _, r := range res {
				if r.Ratio <= 0 || r.Errors > 0 {
					t.Errorf("%s: %s vs %s (ratio %.2f)", r.Name, r.Measured, r.Baseline, r.Ratio)
				}
			}
		})
	}
}

func TestOnlyBudgetsAndWrongAnswersFail(t *testing.T) {
	for _, c := range []struct {
		r    result
		want bool
	}{
		{result{Pass: false}, false},
		{result{Pass: true, Errors: 1}, true},
		{result{Gate: true, Pass: false}, true},
		{result{Gate: true, Pass: true}, false},
	} {
		if c.r.fails() != c.want {
			t.Errorf("%+v: fails() = %v", c.r, !c.want)
		}
	}
}

func TestOptionsSelectFigures(t *testing.T) {
	o := options{figures: "post"}
	if !o.wants("POST /api/v1/projects") || o.wants("GET /health/live") {
		t.Fatal("figure filter")
	}
	if !(options{}).wants("anything") {
		t.Fatal("no filter selects everything")
	}
}

// TestCountsAgainstAnotherBuild: -against a checkout of the module (here
// this one, so no git is needed) counts the API built from it in the same
// run, on its own database, as a figure that gates the run.
func TestCountsAgainstAnotherBuild(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(wd)) // test/bench
	res, err := instructions(context.Background(), options{smoke: true, figures: keyGet, against: root})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range res {
		if !strings.HasPrefix(r.Name, "instructions vs ") {
			continue
		}
		found = true
		// The same code counted twice: near 1, whatever the noise of a smoke run's few requests.
		if !r.Gate || r.Errors > 0 || r.Ratio < 0.5 || r.Ratio > 2 || !strings.Contains(r.Name, "GET /api/v1/projects/{id}") {
			t.Errorf("%+v", r)
		}
	}
	if !found {
		t.Fatalf("no figure against the other build in %+v", res)
	}
}

func TestAgainstTargetIsThroughputAtLeast085(t *testing.T) {
	then := count{per: 1000}
	for _, c := range []struct {
		now  float64
		pass bool
	}{{1000, true}, {1170, true}, {1180, false}, {2000, false}, {900, true}} {
		r := againstResult("v1", "GET /x", "request", count{per: c.now}, then)
		if r.Pass != c.pass || !r.Gate || r.fails() == c.pass {
			t.Errorf("%v instructions against 1000: pass %v, fails %v", c.now, r.Pass, r.fails())
		}
	}
}

func TestAgainstSomethingThatIsNeitherADirectoryNorACommit(t *testing.T) {
	_, _, err := buildAt(context.Background(), "no-such-revision-"+strings.Repeat("x", 8))
	if err == nil || !strings.Contains(err.Error(), "no-such-revision") {
		t.Fatalf("err = %v", err)
	}
}
