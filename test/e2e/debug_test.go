package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/scoped-api/foundation/test/testkit"
)

// TestDebugListener: DEBUG_ADDR serves pprof on a listener of its own and
// never on the main one; a DEBUG_ADDR that cannot be opened costs the
// profiles, not the start.
func TestDebugListener(t *testing.T) {
	t.Run("DEBUG_ADDR", func(t *testing.T) {
		addr := testkit.ClosedPort(t)
		app, _ := startPostgresApp(t, "DEBUG_ADDR", addr)
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
			if res := testkit.Do(t, "GET", "http://"+addr+path, "", nil); res.Status != 200 || len(res.Body) == 0 {
				t.Errorf("DEBUG_ADDR %s: %d", path, res.Status)
			}
			if res := app.Do("GET", path, "", nil); res.Status != 404 {
				t.Errorf("main listener %s: %d", path, res.Status)
			}
		}
		if res := testkit.Do(t, "GET", "http://"+addr+"/debug/pprof/", "", nil); !strings.Contains(string(res.Body), "goroutine") {
			t.Errorf("the pprof index lists no goroutine profile: %.200s", res.Body)
		}
	})
	t.Run("taken", func(t *testing.T) {
		ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ln.Close() }()
		app, _ := startPostgresApp(t, "DEBUG_ADDR", ln.Addr().String())
		if res := app.Do("GET", "/health/live", "", nil); res.Status != 200 {
			t.Errorf("the API did not start beside a taken DEBUG_ADDR: %d", res.Status)
		}
		if len(app.Logs.FilterMessageSnippet("pprof is not served: cannot listen on DEBUG_ADDR").All()) != 1 {
			t.Error("no error that pprof is not served")
		}
	})
}
