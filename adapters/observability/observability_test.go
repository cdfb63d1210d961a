package observability

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/diagnostics"
)

func newProject() kernel.ProjectID { return kernel.ProjectIDFrom(uuid.Must(uuid.NewV7())) }

func parentContext(sampled bool) context.Context {
	flags := trace.TraceFlags(0)
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: flags, Remote: true,
	})
	return trace.ContextWithRemoteSpanContext(context.Background(), sc)
}

func TestProjectSampler(t *testing.T) {
	listed, other := newProject(), newProject()
	base, err := StandardSampler("parentbased_traceidratio", 0)
	if err != nil {
		t.Fatal(err)
	}
	s := NewProjectSampler(base, testScope, []kernel.ProjectID{listed}, []string{"/health/ready", "/metrics"}, nil, nil)
	yes, no := true, false
	cases := []struct {
		name    string
		route   string
		project kernel.ProjectID
		parent  *bool
		want    sdktrace.SamplingDecision
	}{
		{"probe under a sampled parent", "/health/ready", kernel.ProjectID{}, &yes, sdktrace.Drop},
		{"metrics", "/metrics", kernel.ProjectID{}, nil, sdktrace.Drop},
		{"listed project, no parent", "/api/v1/projects/{project_id}", listed, nil, sdktrace.RecordAndSample},
		{"listed project under an unsampled parent", "/api/v1/projects/{project_id}", listed, &no, sdktrace.RecordAndSample},
		{"other project at ratio 0", "/api/v1/projects/{project_id}", other, nil, sdktrace.Drop},
		{"other project under a sampled parent", "/api/v1/projects/{project_id}", other, &yes, sdktrace.RecordAndSample},
		{"other project under an unsampled parent", "/api/v1/projects/{project_id}", other, &no, sdktrace.Drop},
	}
	for _, c := range cases {
		ctx := context.Background()
		if c.parent != nil {
			ctx = parentContext(*c.parent)
		}
		ctx = withScope(ctx, Scope{Route: c.route, Project: c.project})
		got := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: trace.TraceID{9}, Name: "x"})
		if got.Decision != c.want {
			t.Errorf("%s: %v, want %v", c.name, got.Decision, c.want)
		}
	}
	// Without a scope, the base sampler decides alone.
	if got := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentContext(true)}); got.Decision != sdktrace.RecordAndSample {
		t.Errorf("no scope, sampled parent: %v", got.Decision)
	}
	if !strings.Contains(s.Description(), "ProjectSampler") {
		t.Error(s.Description())
	}
}

func TestStandardSamplers(t *testing.T) {
	root := sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: trace.TraceID{8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}}
	unsampledParent := sdktrace.SamplingParameters{ParentContext: parentContext(false), TraceID: trace.TraceID{1}}
	for _, c := range []struct {
		name             string
		root, underNoPar sdktrace.SamplingDecision
	}{
		{"always_on", sdktrace.RecordAndSample, sdktrace.RecordAndSample},
		{"always_off", sdktrace.Drop, sdktrace.Drop},
		{"traceidratio", sdktrace.Drop, sdktrace.RecordAndSample}, // ratio 0.5: the high trace id is out, the low one in
		{"parentbased_always_on", sdktrace.RecordAndSample, sdktrace.Drop},
		{"parentbased_always_off", sdktrace.Drop, sdktrace.Drop},
		{"parentbased_traceidratio", sdktrace.Drop, sdktrace.Drop},
	} {
		s, err := StandardSampler(c.name, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.ShouldSample(root).Decision; got != c.root {
			t.Errorf("%s root: %v", c.name, got)
		}
		if got := s.ShouldSample(unsampledParent).Decision; got != c.underNoPar {
			t.Errorf("%s under an unsampled parent: %v", c.name, got)
		}
		if IsRatioSampler(c.name) != strings.HasSuffix(c.name, "traceidratio") {
			t.Errorf("IsRatioSampler(%s)", c.name)
		}
	}
	if _, err := StandardSampler("jaeger_remote", 1); err == nil {
		t.Error("an unsupported sampler was accepted")
	}
}

func TestSettings(t *testing.T) {
	s := Settings{Endpoint: "http://c:4318/", Protocol: ProtocolHTTPProtobuf}
	if got := s.TracesURL(); got != "http://c:4318/v1/traces" {
		t.Error(got)
	}
	s.Protocol = ProtocolGRPC
	if got := s.TracesURL(); got != "http://c:4318/" {
		t.Error(got)
	}
	s.TracesEndpoint = "https://t/custom"
	if got := s.TracesURL(); got != "https://t/custom" {
		t.Error(got)
	}
	if (Settings{}).TracesURL() != "" {
		t.Error("no endpoint must mean no URL")
	}
	for raw, want := range map[string]string{"http://c:4317": "c:4317", "https://c": "c:443", "http://c/x": "c:80"} {
		if got := hostPort(raw); got != want {
			t.Errorf("hostPort(%s) = %s", raw, got)
		}
	}
	for _, bad := range []string{"collector:4317", "ftp://c", "http://"} {
		if CheckEndpoint(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	attrs, err := ParseResourceAttributes(" a=1, b = two%20words ,,")
	if err != nil || attrs["a"] != "1" || attrs["b"] != "two words" || len(attrs) != 2 {
		t.Errorf("%v %v", attrs, err)
	}
	for _, bad := range []string{"novalue", "=x", "k=%zz"} {
		if _, err := ParseResourceAttributes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := newExporter(Settings{Protocol: "http/json"}, "http://c"); err == nil {
		t.Error("an unsupported protocol built an exporter")
	}
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestRateLimitedLogging(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	c := &clock{now: time.Unix(1000, 0)}
	r := newRateLimited(zap.New(core), "telemetry error", time.Minute, c.Now)
	for range 50 {
		r.Report(errors.New("connection refused"))
		c.now = c.now.Add(time.Second)
	}
	if logs.Len() != 1 {
		t.Fatalf("50 errors in 50 s gave %d lines", logs.Len())
	}
	c.now = c.now.Add(15 * time.Second)
	r.Report(errors.New("still refused"))
	if logs.Len() != 2 || logs.All()[1].ContextMap()["suppressed_since_last_line"] != int64(49) {
		t.Fatalf("second line: %v", logs.All())
	}
	r.Reset()
	r.Report(errors.New("again"))
	if logs.Len() != 3 {
		t.Fatalf("after a recovery the next failure must be logged at once: %d", logs.Len())
	}
}

func TestHealthStates(t *testing.T) {
	c := &clock{now: time.Unix(1000, 0)}
	h := newHealth(c.Now)
	if st := h.state(); st.Status != StatusOK {
		t.Fatal(st)
	}
	c.now = c.now.Add(time.Second)
	h.probed(errors.New("refused"))
	st := h.state()
	if st.Status != StatusDegraded || !strings.Contains(st.Reason, "unreachable: refused") || !st.Since.Equal(c.now) {
		t.Fatalf("after a failed probe: %+v", st)
	}
	since := c.now
	c.now = c.now.Add(time.Second)
	h.exported(errors.New("deadline exceeded"))
	h.exported(errors.New("deadline exceeded"))
	st = h.state()
	if st.Status != StatusDegraded || !strings.Contains(st.Reason, "span export failed") || st.Since.Equal(since) {
		t.Fatalf("an export failure outranks the probe: %+v", st)
	}
	exportSince := st.Since
	c.now = c.now.Add(time.Second)
	h.probed(nil) // reachable, but exports still fail
	if st := h.state(); st.Status != StatusDegraded || !st.Since.Equal(exportSince) {
		t.Fatalf("a good probe hid failing exports: %+v", st)
	}
	c.now = c.now.Add(time.Second)
	if !h.exported(nil) {
		t.Fatal("a success after failures is a recovery")
	}
	if st := h.state(); st.Status != StatusOK || !st.Since.Equal(c.now) {
		t.Fatalf("after a success: %+v", st)
	}
	if h.exported(nil) {
		t.Fatal("two successes are one recovery")
	}
	h.disable("off")
	if st := h.state(); st.Status != StatusDisabled || st.Reason != "off" {
		t.Fatal(st)
	}
}

func TestProbeSeesAClosedPortAndItsRecovery(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	h := newHealth(time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); probe(ctx, addr, 20*time.Millisecond, time.Second, h) }()
	waitFor(t, func() bool { return h.state().Status == StatusDegraded })
	ln, err = (&net.ListenConfig{}).Listen(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	waitFor(t, func() bool { return h.state().Status == StatusOK })
	cancel()
	<-done
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSlowStatementsAreBoundedAndScoped(t *testing.T) {
	c := &clock{now: time.Unix(100000, 0)}
	s := NewSlowStatements(c.Now)
	p, q := newProject(), newProject()
	alice, _ := kernel.ParseSubject("alice")
	bob, _ := kernel.ParseSubject("bob")
	add := func(project kernel.ProjectID, who kernel.Subject, stmt string) {
		s.Add(project, who, diagnostics.SlowStatement{At: c.now, Statement: stmt})
	}
	add(p, alice, "old")
	c.now = c.now.Add(30 * time.Minute)
	add(p, alice, "mid")
	add(p, bob, "bob's")
	add(q, alice, "other project")
	c.now = c.now.Add(40 * time.Minute) // "old" is now 70 minutes old
	add(p, alice, "new")
	got := s.Recent(kernel.GrantProjectAccess(alice, p, kernel.AllPermissions), time.Time{})
	if len(got) != 2 || got[0].Statement != "new" || got[1].Statement != "mid" {
		t.Fatalf("recent: %+v", got)
	}
	if got := s.Recent(kernel.GrantProjectAccess(bob, p, kernel.AllPermissions), time.Time{}); len(got) != 1 || got[0].Statement != "bob's" {
		t.Fatalf("bob's view: %+v", got)
	}
	if got := s.Recent(kernel.GrantProjectAccess(alice, p, kernel.AllPermissions), c.now); len(got) != 1 {
		t.Fatalf("since now: %+v", got)
	}
	for i := range maxSlowPerProject + 20 {
		add(q, alice, "s"+string(rune('a'+i%26)))
	}
	if got := s.Recent(kernel.GrantProjectAccess(alice, q, kernel.AllPermissions), time.Time{}); len(got) != maxSlowPerProject {
		t.Fatalf("per-project cap: %d", len(got))
	}
	// Past the project cap, the stalest project goes first.
	c.now = c.now.Add(time.Minute)
	for range maxProjectsWithSlowLogs {
		add(newProject(), alice, "x")
	}
	s.mu.Lock()
	n := len(s.byProject)
	_, pKept := s.byProject[p]
	s.mu.Unlock()
	if n > maxProjectsWithSlowLogs || pKept {
		t.Fatalf("%d projects kept (stalest kept: %v)", n, pKept)
	}
}

func TestDisabledTelemetryIsANoOp(t *testing.T) {
	tel, err := New(Settings{Disabled: true}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	tel.Start(t.Context())
	if tel.Tracing() || tel.MetricsHandler() != nil || tel.State().Status != StatusDisabled {
		t.Fatalf("disabled telemetry: tracing %v state %+v", tel.Tracing(), tel.State())
	}
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() || tel.MeterProvider() == nil {
		t.Fatal("a disabled tracer recorded")
	}
	m, err := tel.NewStreamMetrics()
	if err != nil {
		t.Fatal(err)
	}
	m.StreamOpened() // no-ops, no panics
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStreamMetrics(t *testing.T) {
	tel, err := New(Settings{ServiceName: "s", Sampler: "always_on", SamplerRatio: 1}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	m, err := tel.NewStreamMetrics()
	if err != nil {
		t.Fatal(err)
	}
	m.StreamOpened()
	m.StreamOpened()
	m.StreamClosed()
	m.EventsDelivered(5)
	m.EventsDelivered(2)
	m.SlowSubscriberDisconnected()
	m.RelayLag(1500 * time.Millisecond)
	text := scrapeText(t, tel)
	for _, want := range []string{
		"streams_connected 1\n", "streams_events_delivered_total 7\n",
		"streams_slow_subscribers_disconnected_total 1\n", "streams_relay_lag_seconds 1.5\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	m.RelayLag(-time.Second)
	if !strings.Contains(scrapeText(t, tel), "streams_relay_lag_seconds 0\n") {
		t.Error("a negative lag must read as zero")
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func scrapeText(t *testing.T, tel *Telemetry) string {
	t.Helper()
	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

type scopeKey struct{}

// withScope and testScope stand in for the HTTP adapter's request record.
func withScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

func testScope(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}

func TestNoScopeAndNoTrace(t *testing.T) {
	if (noScope(context.Background()) != Scope{}) {
		t.Fatal("a scope from nowhere")
	}
	if TraceID(context.Background()) != "" {
		t.Fatal("a trace id from nowhere")
	}
	// A sampler without a scope reader lets the base decide alone.
	s := NewProjectSampler(sdktrace.NeverSample(), nil, []kernel.ProjectID{newProject()}, nil, nil, nil)
	if d := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background()}).Decision; d != sdktrace.Drop {
		t.Fatalf("no scope reader: %v", d)
	}
}

func TestSamplerShedsWhileExportsFail(t *testing.T) {
	failing := true
	listed := newProject()
	c := &clock{now: time.Unix(1000, 0)}
	s := NewProjectSampler(sdktrace.AlwaysSample(), testScope, []kernel.ProjectID{listed}, nil, func() bool { return failing }, NewTrickle(time.Second, c.Now))
	root := func() sdktrace.SamplingDecision {
		ctx := withScope(context.Background(), Scope{Project: listed})
		return s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx}).Decision
	}
	if root() != sdktrace.RecordAndSample {
		t.Fatal("the trickle lets the first trace through")
	}
	for range 100 {
		if root() != sdktrace.Drop {
			t.Fatal("while exports fail, at most one new trace a second is recorded, listed project or not")
		}
	}
	local := func(sampled bool) sdktrace.SamplingDecision {
		flags := trace.TraceFlags(0)
		if sampled {
			flags = trace.FlagsSampled
		}
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: flags})
		return s.ShouldSample(sdktrace.SamplingParameters{ParentContext: trace.ContextWithSpanContext(context.Background(), sc)}).Decision
	}
	if local(true) != sdktrace.RecordAndSample || local(false) != sdktrace.Drop {
		t.Fatal("spans of a trace being recorded follow it")
	}
	c.now = c.now.Add(time.Second)
	if root() != sdktrace.RecordAndSample {
		t.Fatal("one trace a second")
	}
	// An HTTP request has been admitted by the adapter already.
	http := withScope(context.Background(), Scope{Route: "/api/v1/projects"})
	if d := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: http}).Decision; d != sdktrace.RecordAndSample {
		t.Fatalf("an admitted HTTP request: %v", d)
	}
	failing = false
	for range 10 {
		if root() != sdktrace.RecordAndSample {
			t.Fatal("after recovery every trace is sampled again")
		}
	}
}

func TestAnExportThatHangsCountsAsFailingBeforeItsTimeout(t *testing.T) {
	c := &clock{now: time.Unix(1000, 0)}
	h := newHealth(c.Now)
	h.exporting(c.now)
	c.now = c.now.Add(time.Second)
	if h.failing() || h.state().Status != StatusOK {
		t.Fatal("a one-second export is not a hang")
	}
	c.now = c.now.Add(5 * time.Second)
	st := h.state()
	if !h.failing() || st.Status != StatusDegraded || !strings.Contains(st.Reason, "not been answered for 6s") {
		t.Fatalf("a six-second export: %+v", st)
	}
	h.exporting(time.Time{})
	h.exported(nil)
	if h.failing() || h.state().Status != StatusOK {
		t.Fatal("the export finished")
	}
}
