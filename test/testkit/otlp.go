package testkit

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is one span as an OTLP receiver got it, flattened for assertions.
type Span struct {
	TraceID, SpanID, ParentSpanID string
	Name                          string
	Kind                          string
	Attributes                    map[string]string
	Resource                      map[string]string
}

// OTLPReceiver is a collector inside the test: it accepts OTLP trace
// exports (gRPC or HTTP/protobuf) and keeps the spans.
type OTLPReceiver struct {
	// Endpoint is the value for OTEL_EXPORTER_OTLP_ENDPOINT; Protocol for
	// OTEL_EXPORTER_OTLP_PROTOCOL.
	Endpoint string
	Protocol string

	mu        sync.Mutex
	spans     []Span
	exports   int
	countOnly bool
}

// CountOnly makes the receiver count exports instead of keeping their
// spans; over HTTP it does not even decode them, like a collector that
// forwards them elsewhere: a long benchmark then measures the service, not
// the receiver's decoding or its growing heap.
func (r *OTLPReceiver) CountOnly() {
	r.mu.Lock()
	r.countOnly = true
	r.mu.Unlock()
}

type traceService struct {
	coltrace.UnimplementedTraceServiceServer
	r *OTLPReceiver
}

func (s traceService) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	s.r.add(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// NewOTLPReceiver starts a receiver speaking protocol ("grpc" or
// "http/protobuf") on a random loopback port until the test ends.
func NewOTLPReceiver(t TB, protocol string) *OTLPReceiver {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v", err)
	}
	r := &OTLPReceiver{Endpoint: "http://" + ln.Addr().String(), Protocol: protocol}
	switch protocol {
	case "grpc":
		srv := grpc.NewServer()
		coltrace.RegisterTraceServiceServer(srv, traceService{r: r})
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(srv.Stop)
	case "http/protobuf":
		mux := http.NewServeMux()
		empty, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, req *http.Request) {
			body, err := io.ReadAll(req.Body)
			r.mu.Lock()
			countOnly := r.countOnly
			if countOnly && err == nil {
				r.exports++
			}
			r.mu.Unlock()
			if countOnly && err == nil {
				w.Header().Set("Content-Type", "application/x-protobuf")
				_, _ = w.Write(empty)
				return
			}
			var msg coltrace.ExportTraceServiceRequest
			if err == nil {
				err = proto.Unmarshal(body, &msg)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.add(&msg)
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(empty)
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
	default:
		t.Fatalf("unknown OTLP protocol %q", protocol)
	}
	return r
}

func (r *OTLPReceiver) add(req *coltrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exports++
	for _, rs := range req.GetResourceSpans() {
		if r.countOnly {
			continue
		}
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, Span{
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Name:         s.GetName(),
					Kind:         s.GetKind().String(),
					Attributes:   attrs(s.GetAttributes()),
					Resource:     res,
				})
			}
		}
	}
}

func attrs(kvs []*common.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *common.AnyValue_StringValue:
			m[kv.GetKey()] = x.StringValue
		case *common.AnyValue_IntValue:
			m[kv.GetKey()] = strconv.FormatInt(x.IntValue, 10)
		case *common.AnyValue_BoolValue:
			m[kv.GetKey()] = strconv.FormatBool(x.BoolValue)
		case *common.AnyValue_DoubleValue:
			m[kv.GetKey()] = strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		default:
			m[kv.GetKey()] = fmt.Sprint(v)
		}
	}
	return m
}

// Spans returns every span received so far.
func (r *OTLPReceiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Exports is the number of export requests received.
func (r *OTLPReceiver) Exports() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exports
}

// Trace returns the spans of one trace.
func (r *OTLPReceiver) Trace(traceID string) []Span {
	var out []Span
	for _, s := range r.Spans() {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// Eventually polls cond every 50 ms until it holds or timeout passes, and
// reports whether it held.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NewHangingListener accepts connections and never answers on them (nor
// closes them) until the test ends: a collector that hangs. It returns
// its host:port.
func NewHangingListener(t TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v", err)
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

// ClosedPort returns a loopback host:port on which nothing listens.
func ClosedPort(t TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
