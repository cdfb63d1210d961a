package testkit

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PgBouncer is a pgbouncer of a test's own, in transaction-pooling mode, in
// front of the test PostgreSQL, with a server pool small enough that
// clients really do share server connections.
type PgBouncer struct {
	port int
	pid  int
}

// StartPgBouncer starts Debian's pgbouncer on a free loopback port with
// poolSize server connections per database and stops it when the test
// ends. pgbouncer refuses to run as root, so as root it runs as the
// postgres user, from a directory that user can read.
func StartPgBouncer(t TB, poolSize int) *PgBouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		bin = "/usr/sbin/pgbouncer" // Debian installs it outside a user's PATH
		if _, serr := os.Stat(bin); serr != nil {
			t.Fatalf("pgbouncer is not installed (apt-get install -y pgbouncer; make test and .ci/run do): %v", err)
		}
	}
	admin, err := url.Parse(PostgresAdminURL())
	if err != nil {
		t.Fatalf("%v", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil { //nolint:gosec // pgbouncer runs as another user and writes its pid and log here
		t.Fatalf("%v", err)
	}
	user := admin.User.Username()
	conf := fmt.Sprintf(`[databases]
* = host=%s port=%s user=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s/users.txt
pool_mode = transaction
default_pool_size = %d
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits
pidfile = %s/pgbouncer.pid
logfile = %s/pgbouncer.log
`, admin.Hostname(), admin.Port(), user, port, dir, poolSize, dir, dir)
	for name, data := range map[string]string{"pgbouncer.ini": conf, "users.txt": fmt.Sprintf("%q \"\"\n", user)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil { //nolint:gosec // read by pgbouncer's user
			t.Fatalf("%v", err)
		}
	}
	args := []string{"-d", filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		args = []string{"-d", "-u", "postgres", filepath.Join(dir, "pgbouncer.ini")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer func() { _ = root.Close() }()
	if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil { //nolint:gosec // Debian's pgbouncer with a configuration this helper wrote
		log, _ := root.ReadFile("pgbouncer.log")
		t.Fatalf("pgbouncer: %v: %s%s", err, out, log)
	}
	b := &PgBouncer{port: port}
	if !Eventually(10*time.Second, func() bool {
		raw, err := root.ReadFile("pgbouncer.pid")
		if err != nil {
			return false
		}
		b.pid, err = strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			return false
		}
		conn, err := (&net.Dialer{Timeout: 100 * time.Millisecond}).DialContext(ctx, "tcp", b.Addr())
		if err != nil {
			return false
		}
		_ = conn.Close()
		return true
	}) {
		log, _ := root.ReadFile("pgbouncer.log")
		t.Fatalf("pgbouncer on %s never answered: %s", b.Addr(), log)
	}
	t.Cleanup(b.stop)
	return b
}

// Addr is the pooler's host:port.
func (b *PgBouncer) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

// URL is dbURL (a database of the test PostgreSQL) reached through the pooler.
func (b *PgBouncer) URL(t TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("%v", err)
	}
	u.Host = b.Addr()
	return u.String()
}

func (b *PgBouncer) stop() {
	if b.pid == 0 {
		return
	}
	_ = syscall.Kill(b.pid, syscall.SIGTERM)
	Eventually(10*time.Second, func() bool { return syscall.Kill(b.pid, 0) != nil })
	_ = syscall.Kill(b.pid, syscall.SIGKILL)
	b.pid = 0
}
