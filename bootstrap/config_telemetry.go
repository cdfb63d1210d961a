package bootstrap

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/scoped-api/foundation/adapters/observability"
	"github.com/scoped-api/foundation/domain/kernel"
)

// TelemetryConfig is tracing (the standard OTEL_* variables), metrics and
// the slow-statement log.
type TelemetryConfig struct {
	Disabled           bool   `env:"OTEL_SDK_DISABLED" envDefault:"false"`
	ServiceName        string `env:"OTEL_SERVICE_NAME" envDefault:"project-api"`
	ResourceAttributes string `env:"OTEL_RESOURCE_ATTRIBUTES"`
	Endpoint           string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	TracesEndpoint     string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	Protocol           string `env:"OTEL_EXPORTER_OTLP_PROTOCOL" envDefault:"http/protobuf"`
	// ExportTimeoutMS and ScheduleDelayMS are milliseconds, as the
	// specification of these variables says.
	ExportTimeoutMS      int      `env:"OTEL_EXPORTER_OTLP_TIMEOUT" envDefault:"10000"`
	ScheduleDelayMS      int      `env:"OTEL_BSP_SCHEDULE_DELAY" envDefault:"5000"`
	Sampler              string   `env:"OTEL_TRACES_SAMPLER" envDefault:"parentbased_always_on"`
	SamplerArg           string   `env:"OTEL_TRACES_SAMPLER_ARG"`
	SampleAlwaysProjects []string `env:"TELEMETRY_SAMPLE_ALWAYS_PROJECTS" envSeparator:","`
	// MetricsAddr is where GET /metrics is served; empty means the main
	// listener, and only when that is bound to loopback.
	MetricsAddr        string        `env:"METRICS_ADDR"`
	SlowQueryThreshold time.Duration `env:"DB_SLOW_QUERY_THRESHOLD" envDefault:"200ms"`

	// Parsed by validate.
	SamplerRatio   float64            `env:"-"`
	AlwaysProjects []kernel.ProjectID `env:"-"`
	Resource       map[string]string  `env:"-"`
}

// validate checks the telemetry settings; each message starts with the
// variable's name. httpAddr decides where /metrics may be served.
func (t *TelemetryConfig) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if strings.TrimSpace(t.ServiceName) == "" {
		bad("OTEL_SERVICE_NAME must not be empty")
	}
	res, err := observability.ParseResourceAttributes(t.ResourceAttributes)
	if err != nil {
		bad("OTEL_RESOURCE_ATTRIBUTES %v", err)
	}
	t.Resource = res
	for _, e := range []struct{ name, value string }{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", t.Endpoint},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", t.TracesEndpoint},
	} {
		if e.value == "" {
			continue
		}
		if err := observability.CheckEndpoint(e.value); err != nil {
			bad("%s %v, not %q", e.name, err, e.value)
		}
	}
	switch t.Protocol {
	case observability.ProtocolGRPC, observability.ProtocolHTTPProtobuf:
	case "http/json":
		bad("OTEL_EXPORTER_OTLP_PROTOCOL http/json is not supported; use grpc or http/protobuf")
	default:
		bad("OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf, not %q", t.Protocol)
	}
	if t.ExportTimeoutMS <= 0 {
		bad("OTEL_EXPORTER_OTLP_TIMEOUT must be a positive number of milliseconds")
	}
	if t.ScheduleDelayMS <= 0 {
		bad("OTEL_BSP_SCHEDULE_DELAY must be a positive number of milliseconds")
	}

	if _, err := observability.StandardSampler(t.Sampler, 1); err != nil {
		bad("OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, not %q", t.Sampler)
	}
	t.SamplerRatio = 1
	if observability.IsRatioSampler(t.Sampler) && t.SamplerArg != "" {
		r, err := strconv.ParseFloat(strings.TrimSpace(t.SamplerArg), 64)
		if err != nil || r < 0 || r > 1 {
			bad("OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1 for %s, not %q", t.Sampler, t.SamplerArg)
		} else {
			t.SamplerRatio = r
		}
	}
	t.AlwaysProjects = nil
	for _, raw := range t.SampleAlwaysProjects {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		id, err := kernel.ParseProjectID(raw)
		if err != nil {
			bad("TELEMETRY_SAMPLE_ALWAYS_PROJECTS entry %q must be a project id (a UUID)", raw)
			continue
		}
		t.AlwaysProjects = append(t.AlwaysProjects, id)
	}

	if t.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(t.MetricsAddr); err != nil {
			bad("METRICS_ADDR must be host:port, not %q", t.MetricsAddr)
		}
	}
	if t.SlowQueryThreshold <= 0 {
		bad("DB_SLOW_QUERY_THRESHOLD must be a positive duration such as 200ms")
	}
	return errs
}

// IsLoopback reports whether a listen address only accepts connections
// from this machine.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
