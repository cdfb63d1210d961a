// Command bench runs the benchmarks behind `make bench`. Every figure is
// printed as a ratio to a baseline measured in the same run. The figures
// that decide the exit code are instruction counts (suite instructions),
// checked against the budgets committed in the file budgets: a count does
// not depend on how busy the machine is. The wall-clock figures of the
// other suites, interleaved with their baselines to cancel some of the
// noise of a shared machine, are reported beside their targets only; a
// wrong answer (an unexpected status, a lost event) fails the run whatever
// the suite. Suites live in their own files and register themselves in init.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

// suite is one group of measurements.
type suite struct {
	name string
	run  func(ctx context.Context, o options) ([]result, error)
	// gates: the suite's figures are budgets. Such suites run first, on a
	// machine the others have not warmed or loaded yet.
	gates bool
}

// result is one measured figure against its baseline and target.
type result struct {
	Name     string
	Measured string
	Baseline string
	Ratio    float64
	// Target describes the goal; Pass is whether Ratio meets it.
	Target string
	Pass   bool
	// Gate makes a missed target fail the run. Other figures are only
	// reported beside their targets, labelled with Noise (by default
	// noisyWallClock).
	Gate  bool
	Noise string
	// Errors counts wrong answers (unexpected statuses, events lost or
	// duplicated): any fails the run, gate or not.
	Errors int
	// Note, if set, explains the figure (printed under it, not in the summary).
	Note string
}

type options struct {
	duration    time.Duration
	rounds      int
	concurrency int
	figures     string
	// requests per counted window of the instructions suite (0: its
	// default); callgrindDir, if set, keeps its callgrind dumps there.
	requests     int
	callgrindDir string
	// against, a git revision, adds to the instructions suite the API
	// built from it, counted in the same run: each route's count is also
	// given as a ratio to that build's.
	against string
	// smoke asks suites for their smallest meaningful run (the test that
	// keeps `make bench` working); sizes such as stream counts shrink too.
	smoke bool
}

// wants reports whether the figure named name was asked for (-figures).
func (o options) wants(name string) bool {
	return o.figures == "" || strings.Contains(strings.ToLower(name), strings.ToLower(o.figures))
}

// noisyWallClock labels the figures measured with a clock.
const noisyWallClock = "noisy: wall clock on a shared machine"

var suites []suite

func register(s suite) { suites = append(suites, s) }

// ordered puts the gating suites first, the rest in registration order.
func ordered() []suite {
	out := append([]suite(nil), suites...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].gates && !out[j].gates })
	return out
}

// fails reports whether r fails the run.
func (r result) fails() bool { return r.Errors > 0 || r.Gate && !r.Pass }

func main() {
	if serveBareIfAsked() {
		return
	}
	var o options
	only := flag.String("only", "", "comma-separated suite names to run (default: all)")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "measurement time of each run")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per figure (the median is reported)")
	flag.IntVar(&o.concurrency, "c", 16, "concurrent clients")
	flag.IntVar(&o.requests, "n", 0, "requests per counted window in the instructions suite (default 1000; 2n more are counted)")
	flag.StringVar(&o.callgrindDir, "callgrind-dir", "", "keep the instructions suite's callgrind dumps in this directory (for callgrind_annotate)")
	flag.StringVar(&o.against, "against", "", "also count the API built from this git revision, in the same run, and fail when a route costs more than "+againstBudgetText+" of what it cost there")
	flag.StringVar(&o.figures, "figures", "", "only measure figures whose name contains this text")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	failed := false
	var all []result
	for _, s := range ordered() {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		fmt.Printf("== %s\n", s.name)
		res, err := s.run(ctx, o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "suite %s: %v\n", s.name, err)
			failed = true
			continue
		}
		for _, r := range res {
			printResult(r)
			if r.Note != "" {
				fmt.Printf("         %s\n", r.Note)
			}
		}
		all = append(all, res...)
	}
	fmt.Println()
	fmt.Println("summary (ratio = measured / baseline in the same run; only FAIL fails the run)")
	for _, r := range all {
		printResult(r)
		if r.fails() {
			failed = true
		}
	}
	if failed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// printResult marks a budget PASS or FAIL; a figure that only informs is
// marked info, with its target met or missed, unless it had errors.
func printResult(r result) {
	mark, name, target := "PASS", r.Name, r.Target
	if !r.Gate {
		mark = "info"
		noise := r.Noise
		if noise == "" {
			noise = noisyWallClock
		}
		name += " (" + noise + ")"
		if r.Pass {
			target += ", met"
		} else {
			target += ", missed"
		}
	}
	if r.fails() {
		mark = "FAIL"
	}
	fmt.Printf("  %-4s %-52s ratio %6.2f  (%s vs baseline %s; target %s)\n", mark, name, r.Ratio, r.Measured, r.Baseline, target)
}
