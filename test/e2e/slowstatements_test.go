package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

type infoJSON struct {
	ProjectID      string `json:"project_id"`
	SlowStatements struct {
		WindowSeconds float64 `json:"window_seconds"`
		ThresholdMS   float64 `json:"threshold_ms"`
		Count         int     `json:"count"`
		Items         []struct {
			DurationMS    float64 `json:"duration_ms"`
			Operation     string  `json:"operation"`
			Statement     string  `json:"statement"`
			CorrelationID string  `json:"correlation_id"`
			TraceID       string  `json:"trace_id"`
		} `json:"items"`
	} `json:"slow_statements"`
	Operations *struct{} `json:"operations"`
	Streams    *struct{} `json:"streams"`
}

// TestSlowStatementsAreLoggedWithTheirProjectAndNoValues: with a threshold
// every statement exceeds, each statement is logged once with its
// duration, normalised text (no parameter values), correlation id, trace
// id and, inside a project's scope, the project id; statements outside any
// scope are logged and counted but not attributed; the project's info
// endpoint lists its own statements to its owner only.
func TestSlowStatementsAreLoggedWithTheirProjectAndNoValues(t *testing.T) {
	app, _ := startPostgresApp(t, "DB_SLOW_QUERY_THRESHOLD", "1ns")
	alice := testkit.Token(t, "alice", time.Hour)
	bob := testkit.Token(t, "bob", time.Hour)

	res := app.Do("POST", "/api/v1/projects", alice, `{"name":"Sekrit-Name-42","description":"hush-hush"}`, "X-Correlation-ID", "slow-create")
	if res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var p projectJSON
	res.JSON(t, &p)
	res = app.Do("PATCH", "/api/v1/projects/"+p.ID, alice, `{"name":"Other-Sekrit-7"}`, "X-Correlation-ID", "slow-patch")
	if res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	if res := app.Do("GET", "/api/v1/projects/"+p.ID, bob, nil, "X-Correlation-ID", "slow-bob"); res.Status != 404 {
		t.Fatalf("bob: %d", res.Status)
	}

	secrets := []string{"Sekrit", "hush", "alice", "bob", p.ID}
	noValues := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the value %q: %s", where, s, text)
			}
		}
	}

	// Inside the project's scope: attributed, once per statement.
	patch := app.Logs.FilterMessage("slow statement").FilterField(zapString("correlation_id", "slow-patch")).All()
	if len(patch) < 2 { // the scope's set_config, the locked select and the update at least
		t.Fatalf("slow statements of the PATCH: %d lines", len(patch))
	}
	seenUpdate := false
	for _, l := range patch {
		f := l.ContextMap()
		stmt, _ := f["statement"].(string)
		noValues("a logged statement", stmt)
		if f["project_id"] != p.ID || f["trace_id"] == nil || f["trace_id"] == "" || f["duration"] == nil {
			t.Errorf("slow statement line lacks project, trace id or duration: %v", f)
		}
		seenUpdate = seenUpdate || strings.HasPrefix(stmt, `UPDATE "projects" SET`)
	}
	if !seenUpdate {
		t.Errorf("the UPDATE was not logged: %v", patch)
	}
	// Logged once: no two lines for one statement of one request.
	seen := map[string]int{}
	for _, l := range patch {
		seen[l.ContextMap()["statement"].(string)]++
	}
	for stmt, n := range seen {
		if n > 1 && !strings.HasPrefix(stmt, "SELECT set_config") {
			t.Errorf("%q logged %d times", stmt, n)
		}
	}

	// Outside any scope (creating a project is not inside one): logged
	// without a project and counted.
	created := app.Logs.FilterMessage("slow statement").FilterField(zapString("correlation_id", "slow-create")).All()
	if len(created) == 0 {
		t.Fatal("the INSERT was not logged")
	}
	for _, l := range created {
		f := l.ContextMap()
		noValues("a logged statement", f["statement"].(string))
		if _, attributed := f["project_id"]; attributed {
			t.Errorf("a statement outside any project scope was attributed: %v", f)
		}
	}
	metrics := string(app.Do("GET", "/metrics", "", nil).Body)
	if n, _ := metricSum(metrics, "db_sql_slow_statements_total", `scoped="false"`); n < 1 {
		t.Errorf("unscoped slow statements not counted: %v", n)
	}
	if n, _ := metricSum(metrics, "db_sql_slow_statements_total", `scoped="true"`); n < float64(len(patch)) {
		t.Errorf("scoped slow statements counted %v, logged %d", n, len(patch))
	}

	// The info endpoint: the owner sees the project's statements, without
	// values, and not the ones bob's attempt caused.
	res = app.Do("GET", "/api/v1/projects/"+p.ID+"/info", alice, nil)
	if res.Status != 200 {
		t.Fatalf("info: %d %s", res.Status, res.Body)
	}
	var info infoJSON
	res.JSON(t, &info)
	noValues("the info body", strings.ReplaceAll(string(res.Body), `"project_id":"`+p.ID+`"`, ""))
	if info.ProjectID != p.ID || info.SlowStatements.Count != len(info.SlowStatements.Items) || info.SlowStatements.Count < len(patch) {
		t.Fatalf("info: %s", res.Body)
	}
	if info.SlowStatements.WindowSeconds != 3600 || info.SlowStatements.ThresholdMS != 0 {
		t.Errorf("window/threshold: %s", res.Body)
	}
	corr := map[string]bool{}
	for _, it := range info.SlowStatements.Items {
		corr[it.CorrelationID] = true
		if it.Statement == "" || it.TraceID == "" || it.Operation == "" {
			t.Errorf("incomplete item %+v", it)
		}
	}
	if !corr["slow-patch"] || corr["slow-bob"] {
		t.Errorf("info lists correlations %v; want slow-patch and not bob's", corr)
	}
	// The operation context supplies real figures: no operations yet, no streams.
	if info.Operations == nil || info.Streams == nil || !strings.Contains(string(res.Body), `"by_status":{"cancelled":0,"failed":0,"pending":0,"running":0,"succeeded":0}`) ||
		!strings.Contains(string(res.Body), `"streams":{"connected":0}`) {
		t.Errorf("operations and streams must be reported with their real (zero) figures: %s", res.Body)
	}
	if res := app.Do("GET", "/api/v1/projects/"+p.ID+"/info", bob, nil); res.Status != 404 {
		t.Errorf("bob reads alice's info: %d %s", res.Status, res.Body)
	}
}
