package bootstrap

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestBuildInfoPrefersTheLinkerThenTheToolchain(t *testing.T) {
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261204180000-9d9cb10b00a7+dirty"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "9d9cb10b00a70b86df4d9836493614c2bea486fb"}, {Key: "vcs.modified", Value: "true"},
	}}
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		info                  *debug.BuildInfo
		want                  BuildInfo
	}{
		{"make build", "v1.2.3", "abc", "2026-12-04T18:00:00Z", stamped, BuildInfo{Version: "v1.2.3", Commit: "abc", Modified: true, Date: "2026-12-04T18:00:00Z"}},
		{"go build in a checkout", "", "", "", stamped, BuildInfo{Version: stamped.Main.Version, Commit: "9d9cb10b00a70b86df4d9836493614c2bea486fb", Modified: true, Date: "unknown"}},
		{"go run or go test", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, BuildInfo{Version: "dev", Commit: "unknown", Date: "unknown"}},
		{"no build information", "", "", "", nil, BuildInfo{Version: "dev", Commit: "unknown", Date: "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.GoVersion = runtime.Version()
			if got := buildInfo(tc.version, tc.commit, tc.date, tc.info); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// withBuild makes Build report b for the rest of the test.
func withBuild(t *testing.T, b BuildInfo) {
	was := build
	build = func() BuildInfo { return b }
	t.Cleanup(func() { build = was })
}

var released = BuildInfo{Version: "v1.4.0", Commit: "0123456789abcdef", Modified: true, Date: "2026-12-04T18:00:00Z", GoVersion: "go1.26.8"}

func TestVersionCommandNeedsNoConfiguration(t *testing.T) {
	withBuild(t, released)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		// An invalid environment would stop any command that reads it.
		code, out, stderr := run(t, map[string]string{"APP_ENV": "prod"}, args...)
		want := "version  v1.4.0\ncommit   0123456789abcdef (modified)\nbuilt    2026-12-04T18:00:00Z\ngo       go1.26.8\n"
		if code != 0 || out != want {
			t.Fatalf("%v: exit %d, %q (stderr %q), want %q", args, code, out, stderr, want)
		}
	}
}

func TestCommandHelpStartsNothing(t *testing.T) {
	// An unreachable database and an invalid environment: help must not
	// read either.
	env := map[string]string{"APP_ENV": "prod", "DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"}
	for cmd, first := range map[string]string{ //nolint:gosec // G101: command names and help texts
		"serve": "usage: api serve\n", "migrate": "usage: api migrate up|down|status\n", "token": "usage: api token",
		"openapi": "usage: api openapi\n", "version": "usage: api version\n",
	} {
		for _, flag := range []string{"--help", "-h", "help"} {
			code, out, stderr := run(t, env, cmd, flag)
			if code != 0 || !strings.HasPrefix(out, first) || stderr != "" {
				t.Errorf("%s %s: exit %d, %q, stderr %q", cmd, flag, code, out, stderr)
			}
		}
	}
	if code, _, stderr := run(t, nil, "serve", "now"); code != 2 || !strings.Contains(stderr, "serve takes no arguments") {
		t.Fatalf("serve with an argument: %d %q", code, stderr)
	}
	if code, out, _ := run(t, nil, "help"); code != 0 || !strings.Contains(out, "version ") || !strings.Contains(out, "--help") {
		t.Fatalf("the usage does not list version or say how to get a command's help: %q", out)
	}
}

func TestTheRunningVersionIsEverywhere(t *testing.T) {
	withBuild(t, released)
	core, logs := observer.New(zap.InfoLevel)
	logStart(zap.New(core), Build())
	entry := logs.FilterMessage("starting").All()
	if len(entry) != 1 || entry[0].ContextMap()["version"] != "v1.4.0" || entry[0].ContextMap()["commit"] != "0123456789abcdef" ||
		entry[0].ContextMap()["built"] != "2026-12-04T18:00:00Z" {
		t.Fatalf("startup log: %+v", entry)
	}

	cfg, err := LoadConfig(map[string]string{"DATABASE_URL": "sqlite://" + t.TempDir() + "/v.db"})
	if err != nil {
		t.Fatal(err)
	}
	var api huma.API
	app := App(cfg, fx.NopLogger, fx.Decorate(func() *zap.Logger { return zap.NewNop() }), fx.Populate(&api))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	if v := api.OpenAPI().Info.Version; v != "v1.4.0" {
		t.Fatalf("OpenAPI info.version %q", v)
	}
	w := httptest.NewRecorder()
	api.Adapter().ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/health/live", nil))
	var live struct{ Status, Version string }
	if err := json.Unmarshal(w.Body.Bytes(), &live); w.Code != http.StatusOK || err != nil || live.Version != "v1.4.0" || live.Status != "ok" {
		t.Fatalf("/health/live: %d %s", w.Code, w.Body)
	}
}
