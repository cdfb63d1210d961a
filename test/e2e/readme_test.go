package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// readmeBlock is a shell block of the README's "First five minutes" and
// what its output must show, in that order.
type readmeBlock struct {
	code    string
	expects []string
}

var (
	readmeShellBlock = regexp.MustCompile("(?s)```sh\n(.*?)```\n(?:<!-- readme-test expects: (.*?) -->\n)?")
	readmeSection    = regexp.MustCompile("(?s)## First five minutes\n(.*?)\n## ")
)

// readmeBlocks returns the section's blocks but the first, which is make
// run: the test starts the server itself.
func readmeBlocks(t *testing.T, readme string) []readmeBlock {
	t.Helper()
	section := readmeSection.FindStringSubmatch(readme)
	if section == nil {
		t.Fatal(`README.md has no "## First five minutes" section`)
	}
	var blocks []readmeBlock
	for _, m := range readmeShellBlock.FindAllStringSubmatch(section[1], -1) {
		b := readmeBlock{code: m[1]}
		for _, e := range strings.Split(m[2], " | ") {
			if e = strings.TrimSpace(e); e != "" {
				b.expects = append(b.expects, e)
			}
		}
		blocks = append(blocks, b)
	}
	if len(blocks) < 2 || !strings.HasPrefix(blocks[0].code, "make run") {
		t.Fatalf("the section's first block must be make run, then the blocks to run: %d blocks", len(blocks))
	}
	for i, b := range blocks[1:] {
		if len(b.expects) == 0 {
			t.Errorf("block %d says nothing about its output (add <!-- readme-test expects: … --> after it):\n%s", i+2, b.code)
		}
	}
	return blocks[1:]
}

// TestTheREADMEsFirstFiveMinutesRunAsWritten builds bin/api, serves it on
// the embedded default at the address the README uses, and runs every
// block of "First five minutes" in one shell, in order, exactly as
// written; each block's output must show what the README says it shows.
func TestTheREADMEsFirstFiveMinutesRunAsWritten(t *testing.T) {
	root := testkit.ModuleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, string(readme))
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the README's blocks: %v", tool, err)
		}
	}
	if conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(t.Context(), "tcp", "127.0.0.1:8000"); err == nil {
		_ = conn.Close()
		t.Fatal("127.0.0.1:8000, the README's address, is taken (a make run?): stop it and run the test again")
	}

	dir := t.TempDir()
	buildAPI(t, filepath.Join(dir, "bin", "api"))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	_, serveLog := serveProcess(t, filepath.Join(dir, "bin", "api"), dir, env, "http://127.0.0.1:8000")

	// One shell for every block, as a reader pastes them; a marker line
	// after each block splits the output.
	var script strings.Builder
	script.WriteString("set -e\n")
	for i, b := range blocks {
		fmt.Fprintf(&script, "%s\necho '::end of block %d::'\n", b.code, i)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir, sh.Env = dir, env
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's blocks failed: %v\n%s\nserver:\n%s", err, out, serveLog())
	}
	rest := string(out)
	for i, b := range blocks {
		marker := fmt.Sprintf("::end of block %d::", i)
		output, after, found := strings.Cut(rest, marker)
		if !found {
			t.Fatalf("block %d did not finish:\n%s", i+2, out)
		}
		rest = after
		seen := output
		for _, want := range b.expects {
			j := strings.Index(seen, want)
			if j < 0 {
				t.Errorf("block %d's output does not show %q (after what came before it):\n%s", i+2, want, output)
				break
			}
			seen = seen[j+len(want):]
		}
	}
}

// buildAPI builds cmd/api to bin, for tests that run it as a process of
// its own (to kill it, or to serve as a reader would).
func buildAPI(t *testing.T, bin string) {
	t.Helper()
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/api")
	build.Dir = testkit.ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// serveProcess runs `bin serve` in dir with env as a process of its own,
// waits until base answers readiness, and kills it when the test ends. It
// returns the process (to kill it sooner) and its output so far.
func serveProcess(t *testing.T, bin, dir string, env []string, base string) (*exec.Cmd, func() string) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), bin, "serve") //nolint:gosec // a binary the test built
	cmd.Dir, cmd.Env = dir, env
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	logs := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if !testkit.Eventually(60*time.Second, func() bool {
		res, err := http.Get(base + "/health/ready") //nolint:noctx // a bounded poll
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}) {
		t.Fatalf("%s serve never became ready at %s:\n%s", bin, base, logs())
	}
	return cmd, logs
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
