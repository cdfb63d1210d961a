package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/scoped-api/foundation/test/testkit"
)

// An issue's speed target is often "at least 0.85 of the throughput of the
// build before it". Instructions per request are what throughput is the
// inverse of on a CPU-bound server, so the count may grow to 1/0.85 of the
// earlier build's.
const (
	againstBudget     = 1 / 0.85
	againstBudgetText = "1/0.85"
)

// buildAt builds ./cmd/api as it is in rev: a directory holding a
// checkout of the module, or a git revision of this repository, taken
// with `git archive` into a temporary directory (the working tree is not
// touched).
func buildAt(ctx context.Context, rev string) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "bench-against-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { _ = os.RemoveAll(dir) }
	src := rev
	if _, err := os.Stat(filepath.Join(rev, "go.mod")); err != nil {
		src = filepath.Join(dir, "src")
		if err := archive(ctx, rev, src); err != nil {
			remove()
			return "", nil, err
		}
	}
	bin = filepath.Join(dir, "api")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/api")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		remove()
		return "", nil, fmt.Errorf("go build ./cmd/api at %s: %w\n%s", rev, err, b)
	}
	return bin, remove, nil
}

// archive extracts the tree of git revision rev into dir.
func archive(ctx context.Context, rev, dir string) error {
	top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return fmt.Errorf("-against %s: not a directory with a go.mod, and no git repository here: %w", rev, err)
	}
	commit, err := exec.CommandContext(ctx, "git", "rev-parse", "--verify", "--quiet", rev+"^{commit}").Output()
	if err != nil {
		return fmt.Errorf("-against %s: neither a directory with a go.mod nor a commit of this repository", rev)
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		return err
	}
	sh := fmt.Sprintf("git -C %q archive %s | tar -x -C %q", strings.TrimSpace(string(top)), strings.TrimSpace(string(commit)), dir)
	if b, err := exec.CommandContext(ctx, "sh", "-c", sh).CombinedOutput(); err != nil {
		return fmt.Errorf("git archive %s: %w\n%s", rev, err, b)
	}
	return nil
}

// startBefore runs the API built at rev under callgrind, on a database
// of its own (its schema is its own migrations'), with the environment
// of the API it is compared with, and creates its routes' rows.
func startBefore(ctx context.Context, tb *benchTB, rev, dir string, keep bool, env map[string]string,
	sz instrSizes, token string) (*counted, *apiRoutes, error) {
	bin, remove, err := buildAt(ctx, rev)
	if err != nil {
		return nil, nil, err
	}
	tb.Cleanup(remove)
	own := maps.Clone(env)
	own["DATABASE_URL"] = testkit.NewPostgresDatabase(tb)
	srv, err := startCounted(ctx, dir, "before", bin, own, keep)
	if err != nil {
		return nil, nil, err
	}
	a := newAPI(srv.url, token)
	defer a.close()
	routes, err := newAPIRoutes(a, sz)
	if err != nil {
		srv.stop()
		return nil, nil, fmt.Errorf("API at %s: %w", rev, err)
	}
	return srv, routes, nil
}

// againstResult is the API's count on one route against the count of the
// build at rev.
func againstResult(rev, name, unit string, now, then count) result {
	ratio := now.per / then.per
	warn("  instructions: %s: API %.0f, at %s %.0f per %s, ratio %.3f", name, now.per, rev, then.per, unit, ratio)
	return result{
		Name:     fmt.Sprintf("instructions vs %s: %s", rev, name),
		Measured: fmt.Sprintf("%s instructions per %s", thousands(now.per), unit),
		Baseline: thousands(then.per) + " at " + rev,
		Ratio:    ratio,
		Target:   fmt.Sprintf("≤ %.3f (%s: throughput ≥ 0.85 of %s's)", againstBudget, againstBudgetText, rev),
		Pass:     ratio <= againstBudget,
		Gate:     true,
		Errors:   then.errors,
		Note: fmt.Sprintf("per %s at %s in each window (n, 2n): %s, %s; allocated per %s %s",
			unit, rev, thousands(then.wA), thousands(then.wB), unit, bytesOf(then.bytes)),
	}
}
