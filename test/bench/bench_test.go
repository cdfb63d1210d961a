package main

import (
	"context"
	"testing"
	"time"
)

// TestSuitesRun runs every suite for a moment: the harness, the apps and
// the baselines must all work (the figures of so short a run mean nothing,
// so targets are not checked here; `make bench` checks them).
func TestSuitesRun(t *testing.T) {
	o := options{duration: 80 * time.Millisecond, rounds: 1, concurrency: 2}
	if len(suites) < 2 {
		t.Fatalf("%d suites registered", len(suites))
	}
	for _, s := range suites {
		res, err := s.run(context.Background(), o)
		if err != nil {
			t.Fatalf("suite %s: %v", s.name, err)
		}
		if len(res) == 0 {
			t.Fatalf("suite %s reported nothing", s.name)
		}
		for _, r := range res {
			if r.Ratio <= 0 || r.Measured == "" || r.Baseline == "" {
				t.Errorf("suite %s: %+v", s.name, r)
			}
			printResult(r)
		}
	}
}
