package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTheDocsPageRendersTheDocumentInABrowser: the embedded Swagger UI
// files (make swagger-ui) load under the page's Content-Security-Policy
// and render every operation of /openapi.json.
func TestTheDocsPageRendersTheDocumentInABrowser(t *testing.T) {
	chromium := requireChromium(t)
	app, _ := startPostgresApp(t)
	var dom string
	// The first render can outlast the virtual time budget on a busy
	// machine: try again before failing.
	for attempt := range 3 {
		cmd := exec.CommandContext(t.Context(), chromium,
			"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", app.URL+"/docs")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium --dump-dom: %v", err)
		}
		dom = string(out)
		if strings.Contains(dom, `id="operations-projects-create-project"`) {
			break
		}
		t.Logf("attempt %d: the page has not rendered the operations yet", attempt+1)
		time.Sleep(time.Second)
	}
	for _, want := range []string{
		`id="operations-projects-create-project"`, `id="operations-projects-list-projects"`,
		`id="operations-health-health-live"`, "Project API",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered /docs page lacks %s", want)
		}
	}
	if strings.Contains(dom, "Failed to load API definition") {
		t.Error("Swagger UI could not load /openapi.json")
	}
	if t.Failed() {
		t.Logf("DOM (first 3000 bytes): %.3000s", dom)
	}
}
