package testkit

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleRoot is the directory of the go.mod above the current directory
// (a test runs in its package's directory).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// CopyModule copies the working tree, uncommitted changes included, into a
// temporary directory, for tests that change the code and check what
// follows. It leaves out VCS data, local tools, build output and files over
// 1 MiB (no source file is that large; stray binaries are).
func CopyModule(t testing.TB) string {
	t.Helper()
	src, dst := os.DirFS(ModuleRoot(t)), t.TempDir()
	out, err := os.OpenRoot(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = out.Close() }()
	skipDirs := map[string]bool{".git": true, ".tools": true, "bin": true, "var": true}
	err = fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil || path == ".":
			return err
		case d.IsDir() && skipDirs[d.Name()]:
			return fs.SkipDir
		case d.IsDir():
			return out.Mkdir(path, 0o750)
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > 1<<20 || strings.HasSuffix(path, ".test") || path == "coverage.out" {
			return err
		}
		data, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		return out.WriteFile(path, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
