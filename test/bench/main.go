// Command bench runs the load benchmarks behind `make bench`. Every figure is
// printed as a ratio to a baseline measured in the same run, interleaved
// with it, so that the noise of a shared machine cancels out. Suites live in
// their own files and register themselves in init.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"
)

// suite is one group of measurements.
type suite struct {
	name string
	run  func(ctx context.Context, o options) ([]result, error)
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
	// Note, if set, explains the figure (printed under it, not in the summary).
	Note string
}

type options struct {
	duration    time.Duration
	rounds      int
	concurrency int
	figures     string
	// smoke asks suites for their smallest meaningful run (the test that
	// keeps `make bench` working); sizes such as stream counts shrink too.
	smoke bool
}

// wants reports whether the figure named name was asked for (-figures).
func (o options) wants(name string) bool {
	return o.figures == "" || strings.Contains(strings.ToLower(name), strings.ToLower(o.figures))
}

var suites []suite

func register(s suite) { suites = append(suites, s) }

func main() {
	if serveBareIfAsked() {
		return
	}
	var o options
	only := flag.String("only", "", "comma-separated suite names to run (default: all)")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "measurement time of each run")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per figure (the median is reported)")
	flag.IntVar(&o.concurrency, "c", 16, "concurrent clients")
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
	for _, s := range suites {
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
	fmt.Println("summary (ratio = measured / baseline in the same run)")
	for _, r := range all {
		printResult(r)
		if !r.Pass {
			failed = true
		}
	}
	if failed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func printResult(r result) {
	mark := "PASS"
	if !r.Pass {
		mark = "FAIL"
	}
	fmt.Printf("  %-4s %-52s ratio %6.2f  (%s vs baseline %s; target %s)\n", mark, r.Name, r.Ratio, r.Measured, r.Baseline, r.Target)
}
