package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// spanFloor is what the OpenTelemetry Go SDK alone costs per span, in this
// process, with no instrumentation library around it: a server span with
// the attributes an HTTP request gets, built and ended, and the same
// exported over OTLP/HTTP by the batch span processor (blocking, so no span
// is dropped) to a receiver in this process that reads and discards the
// body. It is the floor under the traced figures: no instrumentation can
// cost less per span than the SDK it feeds.
func spanFloor(n int) (built, exported time.Duration, err error) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	measure := func(opts ...sdktrace.TracerProviderOption) (time.Duration, error) {
		tp := sdktrace.NewTracerProvider(append(opts, sdktrace.WithSampler(sdktrace.AlwaysSample()))...)
		tr := tp.Tracer("bench")
		attrs := []attribute.KeyValue{
			attribute.String("http.request.method", "GET"), attribute.String("url.scheme", "http"),
			attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 8000),
			attribute.String("network.peer.address", "127.0.0.1"), attribute.Int("network.peer.port", 51234),
			attribute.String("user_agent.original", "Go-http-client/1.1"), attribute.String("client.address", "127.0.0.1"),
			attribute.String("url.path", "/api/v1/projects/0199a0a0-0000-7000-8000-000000000000"),
			attribute.String("network.protocol.version", "1.1"), attribute.String("http.route", "/api/v1/projects/{project_id}"),
		}
		before := selfCPU()
		for range n {
			_, s := tr.Start(context.Background(), "GET /api/v1/projects/{project_id}",
				trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
			s.SetAttributes(attribute.Int("http.response.status_code", 200), attribute.Int("http.response.body.size", 180))
			s.End()
		}
		err := tp.Shutdown(context.Background()) // flushes: the export is inside the measurement
		return (selfCPU() - before) / time.Duration(n), err
	}
	if built, err = measure(); err != nil {
		return 0, 0, err
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		return 0, 0, err
	}
	exported, err = measure(sdktrace.WithBatcher(exp, sdktrace.WithBlocking())) // Shutdown closes exp
	if err != nil {
		return 0, 0, fmt.Errorf("export: %w", err)
	}
	return built, exported, nil
}
