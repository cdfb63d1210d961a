package bootstrap

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Set at link time by make build (and the Dockerfile):
//
//	-ldflags "-X github.com/scoped-api/foundation/bootstrap.version=v1.2.3
//	          -X github.com/scoped-api/foundation/bootstrap.commit=<sha>
//	          -X github.com/scoped-api/foundation/bootstrap.buildDate=<RFC 3339>"
//
// Without them the Go toolchain's own build information is used.
var version, commit, buildDate string

// devVersion names a build that carries no version: go run, go test, or a
// go build outside a tagged checkout with VCS stamping off.
const devVersion = "dev"

// BuildInfo says which build is running.
type BuildInfo struct {
	// Version is a release tag (v1.2.3), git describe's output between
	// tags, the module's pseudo-version, or "dev".
	Version string
	// Commit is the revision built from, "unknown" when not recorded.
	Commit string
	// Modified is true when the tree had uncommitted changes.
	Modified bool
	// Date is when the binary was built (RFC 3339), "unknown" when not
	// recorded.
	Date string
	// GoVersion is the toolchain that built it.
	GoVersion string
}

var build = sync.OnceValue(func() BuildInfo {
	info, _ := debug.ReadBuildInfo()
	return buildInfo(version, commit, buildDate, info)
})

// Build describes the running binary.
func Build() BuildInfo { return build() }

// buildInfo prefers what the linker was told and falls back on what the
// toolchain stamped (module version, vcs.revision, vcs.modified).
func buildInfo(version, commit, date string, info *debug.BuildInfo) BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if info != nil {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = devVersion
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}
