package httpkit

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func h2Request(t *testing.T) *http.Request {
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/events", nil)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	return r
}

// TestAContinuationRunsAfterTheChainOnTheRequestsGoroutine: on HTTP/2 the
// continuation runs once the chain has returned, with the server's own
// writer and request; HTTP/1.1 requests cannot continue; a panic in the
// chain reaches the server as if there were no Continuable.
func TestAContinuationRunsAfterTheChainOnTheRequestsGoroutine(t *testing.T) {
	var order []string
	outer := h2Request(t)
	rec := httptest.NewRecorder()
	Continuable(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Continue(r.Context(), func(cw http.ResponseWriter, cr *http.Request) {
			if cw != http.ResponseWriter(rec) || cr != outer {
				t.Error("the continuation did not get the server's writer and request")
			}
			order = append(order, "continuation")
		}) {
			t.Error("an HTTP/2 request could not continue")
		}
		if Continue(r.Context(), func(http.ResponseWriter, *http.Request) {}) {
			t.Error("a second continuation was accepted")
		}
		order = append(order, "chain")
	})).ServeHTTP(rec, outer)
	if len(order) != 2 || order[0] != "chain" || order[1] != "continuation" {
		t.Fatalf("ran %v, want the chain, then the continuation", order)
	}

	h1 := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/events", nil)
	Continuable(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r != h1 {
			t.Error("an HTTP/1.1 request was copied")
		}
		if Continue(r.Context(), func(http.ResponseWriter, *http.Request) {}) {
			t.Error("an HTTP/1.1 request could continue")
		}
	})).ServeHTTP(httptest.NewRecorder(), h1)

	defer func() {
		if p := recover(); !errors.Is(asError(p), http.ErrAbortHandler) {
			t.Fatalf("recovered %v, want the chain's http.ErrAbortHandler", p)
		}
	}()
	Continuable(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })).ServeHTTP(httptest.NewRecorder(), h2Request(t))
	t.Fatal("the chain's panic was swallowed")
}

func asError(p any) error {
	err, _ := p.(error)
	return err
}
