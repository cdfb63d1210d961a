package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// counted is a server running under callgrind, which counts the
// instructions its process executes (every thread, the runtime and the
// garbage collector included). It starts with instrumentation off, which
// costs a few times native speed instead of about fifty, and the benchmark
// switches it on around what it measures.
type counted struct {
	*child
	name  string
	out   string // callgrind's output file; its k-th dump is out.k
	vgdb  string // the prefix of the FIFOs vgdb talks through, private to this run
	log   string // valgrind's own messages
	dumps int
	keep  bool // leave the dumps for callgrind_annotate
}

// requireCallgrind explains what is missing instead of skipping: a suite
// that gates the run must not pass by measuring nothing.
func requireCallgrind() error {
	for _, tool := range []string{"valgrind", "vgdb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: the instructions suite counts instructions with callgrind (Debian: apt-get install valgrind)", tool)
		}
	}
	return nil
}

// startCounted runs `bin serve` under callgrind with env, writing
// callgrind's files into dir under name, and waits until it is ready.
//
// The settings make the count depend on the work, not on timing. Go's
// asynchronous preemption signals upset callgrind 3.19: off. Callgrind
// 3.19 cannot execute RDTSCP, which the runtime's clock uses wherever the
// CPU has it: the runtime is told it has not (it then uses RDTSC). The garbage
// collector is off (see instructions). Valgrind runs one thread at a time
// anyway, so one P (GOMAXPROCS=1) loses no parallelism and saves the
// instructions of idle Ps spinning and stealing, whose number depends on
// how the machine schedules valgrind's threads; --fair-sched=yes hands
// valgrind's lock over in order, which makes the Go runtime's own locks
// spin less, and less variably, while their holder waits for it.
func startCounted(ctx context.Context, dir, name, bin string, env map[string]string, keep bool) (*counted, error) {
	c := &counted{name: name, out: filepath.Join(dir, name+".callgrind"), log: filepath.Join(dir, name+".valgrind.log"),
		vgdb: filepath.Join(dir, name+".vgdb"), keep: keep}
	env = maps.Clone(env)
	env["GODEBUG"] = "asyncpreemptoff=1,cpu.rdtscp=off"
	env["GOGC"] = "off"
	env["GOMAXPROCS"] = "1"
	// Another valgrind user of a shared machine may end "its" processes
	// by a pattern of their command line (an API serving under callgrind,
	// with these options): the options but the tool go in VALGRIND_OPTS,
	// and the binary runs under a name of this run's own.
	env["VALGRIND_OPTS"] = strings.Join([]string{"--instr-atstart=no", "--fair-sched=yes",
		"--vgdb-prefix=" + c.vgdb, "--callgrind-out-file=" + c.out, "--log-file=" + c.log}, " ")
	own := filepath.Join(dir, name+".bin")
	if err := os.Link(bin, own); err != nil {
		return nil, fmt.Errorf("link %s: %w", bin, err)
	}
	ch, err := startChildTo(ctx, []string{"valgrind", "--tool=callgrind", own, "serve"}, env, nil)
	if err != nil {
		return nil, fmt.Errorf("%s under callgrind: %w\nvalgrind:\n%s", name, err, c.valgrindLog())
	}
	c.child = ch
	return c, nil
}

// control sends a monitor command to the callgrind of c through vgdb,
// directly: callgrind_control first lists every valgrind process and
// says OK whatever happened. The FIFOs live in the run's own directory,
// not in /tmp, where another valgrind user's clean-up could remove them.
// vgdb fails when it cannot reach the process: it is asked again.
func (c *counted) control(command ...string) error {
	if c.exited() {
		log := c.logs.String()
		return fmt.Errorf("%s exited (%w); valgrind:\n%s\nits output:\n%s", c.name, c.err, c.valgrindLog(), log[max(0, len(log)-2048):])
	}
	args := append([]string{"--vgdb-prefix=" + c.vgdb, "--pid=" + strconv.Itoa(c.cmd.Process.Pid)}, command...)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		var b []byte
		b, err = exec.CommandContext(context.Background(), "vgdb", args...).CombinedOutput() // bounded: vgdb gives up on its own
		if err == nil && bytes.Contains(b, []byte("not recognised")) {
			return fmt.Errorf("vgdb %s: %s", strings.Join(command, " "), b)
		}
		if err == nil {
			return nil
		}
		err = fmt.Errorf("vgdb %s: %w\n%s", strings.Join(command, " "), err, b)
	}
	return err
}

func (c *counted) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// valgrindLog is the end of valgrind's messages.
func (c *counted) valgrindLog() string {
	b, _ := os.ReadFile(c.log)
	return string(b[max(0, len(b)-4096):])
}

// instrument switches counting on or off.
func (c *counted) instrument(on bool) error {
	if on {
		return c.control("instrumentation", "on")
	}
	return c.control("instrumentation", "off")
}

// zero forgets what was counted so far.
func (c *counted) zero() error { return c.control("zero") }

// dump returns the instructions executed since the last zero or dump,
// and starts counting afresh. Every dump file not read yet is added up:
// a dump command that vgdb delivered twice leaves two.
func (c *counted) dump() (int64, error) {
	if err := c.control("dump"); err != nil {
		return 0, err
	}
	var total int64
	for read := false; ; read = true {
		path := c.out + "." + strconv.Itoa(c.dumps+1)
		if _, err := os.Stat(path); err != nil {
			if !read {
				return 0, fmt.Errorf("callgrind wrote no %s", path)
			}
			return total, nil
		}
		c.dumps++
		n, err := readTotal(path)
		if !c.keep {
			_ = os.Remove(path)
		}
		if err != nil {
			return 0, err
		}
		total += n
	}
}

// readTotal reads the instruction count (Ir) of a callgrind dump.
func readTotal(path string) (int64, error) {
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "totals:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no totals line", path)
}
