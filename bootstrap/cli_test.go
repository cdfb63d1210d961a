package bootstrap

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scoped-api/foundation/adapters/auth"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, env, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTokenCommand(t *testing.T) {
	env := map[string]string{"AUTH_HS256_SECRET": strings.Repeat("k", 40), "AUTH_ISSUER": "iss"}
	code, out, _ := run(t, env, "token", "--sub", "alice", "--ttl", "2h")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	h, _ := auth.NewHS256(auth.Settings{Secret: []byte(strings.Repeat("k", 40)), Issuer: "iss"})
	sub, exp, err := h.Verify(strings.TrimSpace(out))
	if err != nil || sub.String() != "alice" || time.Until(exp) < 119*time.Minute {
		t.Fatalf("minted token: %v %v %v", sub, exp, err)
	}
	if code, _, stderr := run(t, env, "token"); code != 2 || !strings.Contains(stderr, "--sub") {
		t.Fatalf("no subject: %d %q", code, stderr)
	}
	if code, _, _ := run(t, env, "token", "--sub", "a", "--ttl", "-1h"); code != 2 {
		t.Fatalf("negative ttl: %d", code)
	}
	code, _, stderr := run(t, map[string]string{}, "token", "--sub", "bob")
	if code != 0 || !strings.Contains(stderr, "DEVELOPMENT") {
		t.Fatalf("development token must be labelled: %d %q", code, stderr)
	}
}

func TestUsageAndUnknownCommands(t *testing.T) {
	if code, out, _ := run(t, nil, "help"); code != 0 || !strings.Contains(out, "migrate up|down|status") {
		t.Fatalf("help: %d %q", code, out)
	}
	if code, _, stderr := run(t, map[string]string{}, "frobnicate"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("unknown: %d %q", code, stderr)
	}
	if code, _, stderr := run(t, map[string]string{"APP_ENV": "prod"}, "serve"); code != 2 || !strings.Contains(stderr, "APP_ENV") {
		t.Fatalf("bad config: %d %q", code, stderr)
	}
}

func TestMigrateCommand(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "sqlite://" + t.TempDir() + "/m.db"}
	code, out, stderr := run(t, env, "migrate", "status")
	if code != 0 || !strings.Contains(out, "pending") || strings.Contains(out, "applied") {
		t.Fatalf("status before: %d %q %q", code, out, stderr)
	}
	code, out, _ = run(t, env, "migrate", "up")
	if code != 0 || !strings.Contains(out, "applied 20261125000001_create_projects.sql") {
		t.Fatalf("up: %d %q", code, out)
	}
	applied := strings.Count(out, "applied ") // one per migration of every context
	if code, out, _ := run(t, env, "migrate", "up"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second up: %d %q", code, out)
	}
	if code, out, _ := run(t, env, "migrate", "status"); code != 0 || !regexp.MustCompile(`applied\s+\S*create_projects`).MatchString(out) {
		t.Fatalf("status after: %d %q", code, out)
	}
	for i := range applied {
		if code, out, _ := run(t, env, "migrate", "down"); code != 0 || !strings.Contains(out, "rolled back") {
			t.Fatalf("down %d of %d: %d %q", i+1, applied, code, out)
		}
	}
	if code, out, _ := run(t, env, "migrate", "down"); code != 0 || !strings.Contains(out, "nothing to roll back") {
		t.Fatalf("down after rolling back all %d: %d %q", applied, code, out)
	}
	if code, _, _ := run(t, env, "migrate", "sideways"); code != 2 {
		t.Fatalf("unknown direction: %d", code)
	}
	if code, _, _ := run(t, env, "migrate"); code != 2 {
		t.Fatalf("no direction: %d", code)
	}
	unreachable := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?connect_timeout=1", "DB_CONNECT_TIMEOUT": "2s"}
	if code, _, stderr := run(t, unreachable, "migrate", "up"); code != 1 || !strings.Contains(stderr, "unreachable") {
		t.Fatalf("unreachable database: %d %q", code, stderr)
	}
}

func TestServeStartsAndStopsCleanly(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL": "sqlite://" + t.TempDir() + "/s.db",
		"HTTP_ADDR":    "127.0.0.1:0",
		"LOG_LEVEL":    "error",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb syncBuffer
	go func() { done <- Run(ctx, []string{"serve"}, env, &out, &errb) }()
	deadline := time.Now().Add(20 * time.Second)
	banner := regexp.MustCompile(`Health\s+(http://\S+)/health/ready`)
	for {
		var err error
		if m := banner.FindStringSubmatch(out.String()); m != nil {
			var res *http.Response
			var req *http.Request
			req, err = http.NewRequestWithContext(context.Background(), http.MethodGet, m[1]+"/health/ready", nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err = http.DefaultClient.Do(req)
			if err == nil {
				_ = res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every address the banner prints answers.
	urls := regexp.MustCompile(`http://\S+`).FindAllString(out.String(), -1)
	for _, u := range urls {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("banner address %s: %v", u, err)
		}
		_ = res.Body.Close()
		want := http.StatusOK
		if strings.HasSuffix(u, "/api/v1/projects") {
			want = http.StatusUnauthorized // the curl line without its token
		}
		if res.StatusCode != want {
			t.Errorf("banner address %s answered %d", u, res.StatusCode)
		}
	}
	cancel() // what SIGTERM does
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if len(urls) < 4 || !strings.Contains(out.String(), "/docs") || !strings.Contains(out.String(), "TOKEN=$(bin/api token --sub alice)") {
		t.Fatalf("the banner does not say where the docs are or give the whole token line: %q", out.String())
	}
}

func TestServeFailsClearlyWhenTheDatabaseIsUnreachable(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":       "postgres://postgres@127.0.0.1:1/x",
		"HTTP_ADDR":          "127.0.0.1:0",
		"DB_CONNECT_TIMEOUT": "2s",
		"LOG_LEVEL":          "error",
	}
	code, _, stderr := run(t, env, "serve")
	if code != 1 || !strings.Contains(stderr, "unreachable") || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
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

func TestMainStopsOnSIGTERMWithExitZero(t *testing.T) {
	addr := freeLoopbackAddr(t)
	t.Setenv("APP_ENV", "test")
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("DATABASE_URL", "sqlite://"+t.TempDir()+"/sig.db")
	t.Setenv("LOG_LEVEL", "error")
	// Long enough that the 503 is seen however slow the machine; the
	// test then waits for it to pass.
	t.Setenv("HTTP_SHUTDOWN_DELAY", "10s")

	done := make(chan int, 1)
	go func() { done <- Main([]string{"serve"}) }()
	deadline := time.Now().Add(20 * time.Second)
	live := func() error {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/health/live", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		return res.Body.Close()
	}
	for {
		err := live()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// fx hears the signal too: it must not cut the delay short.
	if !eventually(func() bool {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/health/ready", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable
	}) {
		t.Fatal("readiness never answered 503 after SIGTERM")
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d after SIGTERM", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("SIGTERM did not stop the server")
	}
	if err := live(); err == nil {
		t.Fatal("still serving after SIGTERM")
	}
}

// eventually polls cond every 50 ms for up to 10 s.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
