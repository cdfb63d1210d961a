package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestTheImageContentRunsAloneInAnEmptyRoot: what the Dockerfile puts in
// the image (make image-rootfs builds it the same way, make static) runs
// in an empty root directory — chroot, new mount, PID, IPC and UTS
// namespaces, the image's non-root user, none of the host's files — with
// the image's environment: it listens on all interfaces, serves
// /health/live, reaches the test PostgreSQL and Redis, stores a project,
// and exits 0 on SIGTERM.
func TestTheImageContentRunsAloneInAnEmptyRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("chroot and namespaces need root (CI runs as root); run this test as root")
	}
	testkit.RequireRedis(t)
	root := filepath.Join(t.TempDir(), "rootfs")
	build := exec.CommandContext(t.Context(), "make", "--no-print-directory", "image-rootfs", "ROOTFS="+root)
	build.Dir = testkit.ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image-rootfs: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "api data etc tmp" {
		t.Fatalf("the root holds %v, want only the binary, /data, /etc (CA bundle, users) and /tmp", names)
	}
	dockerfile, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(t), "Dockerfile"))
	if err != nil || !bytes.Contains(dockerfile, []byte("make static")) || !bytes.Contains(dockerfile, []byte("HTTP_ADDR=:8000")) {
		t.Fatalf("the Dockerfile no longer builds with make static or listens on all interfaces (%v)", err)
	}

	free := testkit.ClosedPort(t)
	port := free[strings.LastIndex(free, ":")+1:]
	env := []string{
		// The image's own environment (Dockerfile ENV) ...
		"APP_ENV=production", "HTTP_ADDR=:" + port,
		// ... and what an operator adds.
		"DATABASE_URL=" + testkit.NewPostgresDatabase(t),
		"REDIS_URL=" + testkit.RedisURL(), "REDIS_KEY_PREFIX=" + testkit.RandomName("image_") + ":",
		"AUTH_HS256_SECRET=" + testkit.TestSecret, "PROJECT_KEY_SECRET=" + testkit.TestKeySecret,
		"HTTP_SHUTDOWN_DELAY=0", "HTTP_SHUTDOWN_TIMEOUT=5s",
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Fatalf("chroot (coreutils) is needed: %v", err)
	}
	var logs syncBuffer
	cmd := exec.CommandContext(t.Context(), "unshare", "--pid", "--fork", "--mount", "--ipc", "--uts",
		chroot, "--userspec=65532:65532", root, "/api", "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the image's binary: %v", err)
	}
	// exited closes when unshare has exited; waitErr is then its status.
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("unshare (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
		}
	})

	base := "http://127.0.0.1:" + port
	if !testkit.Eventually(30*time.Second, func() bool {
		select {
		case <-exited:
			return true // reported below
		default:
		}
		res, err := http.Get(base + "/health/ready") //nolint:noctx // a probe loop
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}) {
		t.Fatalf("the image's binary never became ready:\n%s", logs.String())
	}
	select {
	case <-exited:
		t.Fatalf("the image's binary exited (%v):\n%s", waitErr, logs.String())
	default:
	}
	if res := testkit.Do(t, "GET", base+"/health/live", "", nil); res.Status != 200 || !strings.Contains(string(res.Body), `"version"`) {
		t.Fatalf("/health/live: %d %s", res.Status, res.Body)
	}
	status, r := readyAt(t, base)
	for _, dep := range []string{"database", "redis"} {
		if r.Checks[dep].Status != "up" {
			t.Errorf("readiness %d: %s is %+v", status, dep, r.Checks[dep])
		}
	}
	// Reached on another interface than loopback, if the machine has one.
	if ip := firstNonLoopback(); ip != "" {
		if res := testkit.Do(t, "GET", "http://"+net.JoinHostPort(ip, port)+"/health/live", "", nil); res.Status != 200 {
			t.Errorf("not listening on %s: %d", ip, res.Status)
		}
	}
	token := testkit.TokenWith(t, testkit.TestSecret, "", "", "alice", time.Hour)
	if res := testkit.Do(t, "POST", base+"/api/v1/projects", token, `{"name":"from the image"}`); res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s\n%s", res.Status, res.Body, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"starting"`) {
		t.Errorf("no JSON startup line in production:\n%s", logs.String())
	}

	// unshare does not forward signals: SIGTERM goes to the server, its
	// child (PID 1 of the new namespace), as an orchestrator sends it.
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	server, convErr := strconv.Atoi(strings.TrimSpace(string(children)))
	if err != nil || convErr != nil {
		t.Fatalf("the server's PID under unshare (%d): %q %v %v", cmd.Process.Pid, children, err, convErr)
	}
	if status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", server)); !strings.Contains(string(status), "\nUid:\t65532\t") {
		t.Errorf("the server does not run as the image's user 65532:\n%s", status)
	}
	if dir, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", server)); dir != root {
		t.Errorf("the server's root directory is %q, want the image's %q", dir, root)
	}
	if err := syscall.Kill(server, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", waitErr, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after SIGTERM:\n%s", logs.String())
	}
}

func readyAt(t *testing.T, base string) (int, readiness) {
	t.Helper()
	res := testkit.Do(t, "GET", base+"/health/ready", "", nil)
	var r readiness
	if err := json.Unmarshal(res.Body, &r); err != nil {
		t.Fatalf("readiness body %s: %v", res.Body, err)
	}
	return res.Status, r
}

func firstNonLoopback() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
