package bootstrap

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scoped-api/foundation/adapters/observability"
)

func TestTelemetryDefaults(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.OTel
	if c.Disabled || c.ServiceName != "project-api" || c.Endpoint != "" || c.Protocol != observability.ProtocolHTTPProtobuf ||
		c.Sampler != "parentbased_always_on" || c.SamplerRatio != 1 || c.MetricsAddr != "" ||
		c.SlowQueryThreshold != 200*time.Millisecond || c.ExportTimeoutMS != 10000 || c.ScheduleDelayMS != 5000 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestTelemetryConfigIsParsed(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":      "http://collector:4317",
		"OTEL_EXPORTER_OTLP_PROTOCOL":      "grpc",
		"OTEL_TRACES_SAMPLER":              "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":          "0.25",
		"TELEMETRY_SAMPLE_ALWAYS_PROJECTS": "01936b2a-0000-7000-8000-000000000001, 01936b2a-0000-7000-8000-000000000002",
		"OTEL_RESOURCE_ATTRIBUTES":         "deployment.environment=prod",
		"METRICS_ADDR":                     ":9090",
		"DB_SLOW_QUERY_THRESHOLD":          "1s",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.OTel
	if c.SamplerRatio != 0.25 || len(c.AlwaysProjects) != 2 || c.AlwaysProjects[1].String() != "01936b2a-0000-7000-8000-000000000002" ||
		c.Resource["deployment.environment"] != "prod" || c.SlowQueryThreshold != time.Second {
		t.Fatalf("parsed: %+v", c)
	}
}

func TestInvalidTelemetryIsRefusedInOneMessage(t *testing.T) {
	_, err := LoadConfig(map[string]string{
		"OTEL_SERVICE_NAME":                  " ",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "collector:4317",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://x",
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/json",
		"OTEL_EXPORTER_OTLP_TIMEOUT":         "0",
		"OTEL_BSP_SCHEDULE_DELAY":            "-5",
		"OTEL_TRACES_SAMPLER":                "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":            "1.5",
		"TELEMETRY_SAMPLE_ALWAYS_PROJECTS":   "not-a-uuid",
		"OTEL_RESOURCE_ATTRIBUTES":           "novalue",
		"METRICS_ADDR":                       "9090",
		"DB_SLOW_QUERY_THRESHOLD":            "0s",
		"OTEL_SDK_DISABLED":                  "maybe",
	})
	if err == nil {
		t.Fatal("invalid telemetry configuration accepted")
	}
	for _, want := range []string{
		"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http/json is not supported",
		"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1",
		`TELEMETRY_SAMPLE_ALWAYS_PROJECTS entry "not-a-uuid"`, "OTEL_RESOURCE_ATTRIBUTES", "METRICS_ADDR", "DB_SLOW_QUERY_THRESHOLD",
		"OTEL_SDK_DISABLED",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message does not mention %s:\n%v", want, err)
		}
	}
	_, err = LoadConfig(map[string]string{"OTEL_TRACES_SAMPLER": "xray", "OTEL_EXPORTER_OTLP_PROTOCOL": "udp"})
	if err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER must be one of") || !strings.Contains(err.Error(), "grpc or http/protobuf") {
		t.Fatalf("unknown sampler and protocol: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8000": true, "[::1]:80": true, "localhost:1": true, "127.1.2.3:0": true,
		":8000": false, "0.0.0.0:80": false, "10.0.0.1:80": false, "example.com:80": false, "bad": false,
	} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%q) != %v", addr, want)
		}
	}
}

// TestSIGTERMStopsOnTimeWithAHangingCollector: serve, with a collector
// that accepts connections and never answers and an export timeout far
// beyond the shutdown timeout, still exits 0 within the shutdown timeout
// when told to stop (what SIGTERM does).
func TestSIGTERMStopsOnTimeWithAHangingCollector(t *testing.T) {
	hanging := hangingListener(t)
	env := map[string]string{
		"DATABASE_URL":                "sqlite://" + t.TempDir() + "/s.db",
		"HTTP_ADDR":                   "127.0.0.1:0",
		"LOG_LEVEL":                   "error",
		"HTTP_SHUTDOWN_TIMEOUT":       "3s",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + hanging,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_TIMEOUT":  "120000",
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb syncBuffer
	started := time.Now()
	go func() { done <- Run(ctx, []string{"serve"}, env, &out, &errb) }()
	banner := regexp.MustCompile(`API\s+(http://\S+)`)
	var base string
	for base == "" {
		if m := banner.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if time.Since(started) > 20*time.Second {
			t.Fatalf("serve did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Spans pile up behind an export that will hang for two minutes.
	for range 20 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/v1/projects/nope", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	time.Sleep(300 * time.Millisecond) // the batch is being exported now
	stopAt := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if took := time.Since(stopAt); took > 3*time.Second+time.Second {
			t.Fatalf("stop took %v, shutdown timeout 3s", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// hangingListener accepts connections and never answers on them.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
