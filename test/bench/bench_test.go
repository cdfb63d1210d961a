package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestFoundationSuiteRuns keeps `make bench` working: the suite runs end to
// end against real PostgreSQL for a moment and yields every figure, each a
// finite ratio to its baseline with no failed requests. It asserts nothing
// about speed; `make bench` does that.
func TestFoundationSuiteRuns(t *testing.T) {
	res, err := foundation(t.Context(), options{duration: 400 * time.Millisecond, rounds: 1, concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("want 3 throughput and 2 latency figures, got %d: %+v", len(res), res)
	}
	for _, r := range res {
		if r.Name == "" || r.Target == "" || r.Ratio <= 0 || math.IsInf(r.Ratio, 0) || math.IsNaN(r.Ratio) {
			t.Errorf("figure %+v has no usable ratio", r)
		}
		if strings.HasSuffix(r.Name, "throughput") && !strings.Contains(r.Measured, "(0 errors)") {
			t.Errorf("%s: requests failed: %s", r.Name, r.Measured)
		}
	}
}
