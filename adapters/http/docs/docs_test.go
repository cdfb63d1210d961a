package docs

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestTheEmbeddedSwaggerUIIsThePinnedRelease: the files make swagger-ui
// copied are the swagger-ui-dist release the Makefile names, and every
// file the page loads is there.
func TestTheEmbeddedSwaggerUIIsThePinnedRelease(t *testing.T) {
	makefile, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^SWAGGER_UI_VERSION := (\S+)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile pins no SWAGGER_UI_VERSION")
	}
	pinned := string(m[1])
	version, err := fs.ReadFile(assets, "assets/swagger-ui/VERSION")
	if err != nil || strings.TrimSpace(string(version)) != pinned {
		t.Fatalf("assets/swagger-ui/VERSION %q (%v), the Makefile pins %s: run make swagger-ui", version, err, pinned)
	}
	bundle, err := fs.ReadFile(assets, "assets/swagger-ui/swagger-ui-bundle.js")
	if err != nil || !strings.Contains(string(bundle), `"`+pinned+`"`) {
		t.Fatalf("swagger-ui-bundle.js is not release %s (%v)", pinned, err)
	}
	for name, fsys := range files {
		if data, err := fs.ReadFile(fsys, name); err != nil || len(data) == 0 {
			t.Errorf("%s, which the page loads, is not embedded: %v", name, err)
		}
	}
	for _, notice := range []string{"LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"} {
		if _, err := fs.Stat(assets, "assets/swagger-ui/"+notice); err != nil {
			t.Errorf("Swagger UI's %s is not kept beside its files: %v", notice, err)
		}
	}
}
