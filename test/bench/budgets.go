package main

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// budgetsFile is the committed budgets, read strictly by parseBudgets.
//
//go:embed budgets
var budgetsFile string

// parseBudgets reads lines of `key max-ratio`, each optionally followed
// by `# comment`; blank lines and lines starting with # are comments.
// Every key of keys must appear exactly once and no other may: a budget
// that no longer gates anything, or a route without one, is an error.
func parseBudgets(text string, keys []string) (map[string]float64, error) {
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
	}
	out := map[string]float64{}
	for n, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		where := fmt.Sprintf("budgets line %d", n+1)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s: want `key max-ratio`, got %q", where, strings.TrimSpace(line))
		}
		if !known[f[0]] {
			return nil, fmt.Errorf("%s: unknown key %q (known: %s)", where, f[0], strings.Join(keys, ", "))
		}
		if _, dup := out[f[0]]; dup {
			return nil, fmt.Errorf("%s: %q again", where, f[0])
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive ratio", where, f[1])
		}
		out[f[0]] = v
	}
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("budgets: no budget for %q", k)
		}
	}
	return out, nil
}
