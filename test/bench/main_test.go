package main

import (
	"context"
	"os"
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
