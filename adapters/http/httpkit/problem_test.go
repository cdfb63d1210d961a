package httpkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scoped-api/foundation/domain/kernel"
)

func TestEveryKindMapsToItsStatusThroughWrapping(t *testing.T) {
	ctx := WithRequestInfo(context.Background(), &RequestInfo{CorrelationID: "c-1", Path: "/x"})
	cases := []struct {
		err    *kernel.Error
		status int
	}{
		{kernel.Invalid("v.bad", "bad", kernel.FieldError{Field: "name", Message: "empty"}), 422},
		{kernel.NotFound("v.nf", "nf"), 404},
		{kernel.Conflict("v.c", "c"), 409},
		{kernel.PreconditionFailed("v.p", "p"), 412},
		{kernel.Unauthorized("v.u", "u"), 401},
		{&kernel.Error{Kind: kernel.KindForbidden, Code: "v.f", Message: "f"}, 403},
		{kernel.TooManyRequests("v.t", "t"), 429},
		{kernel.Unavailable("v.un", "down", errors.New("dial")), 503},
	}
	for _, c := range cases {
		for _, err := range []error{c.err, fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", c.err))} {
			p := FromError(ctx, err)
			if p.Status != c.status || p.Code != c.err.Code || p.Detail != c.err.Message || p.CorrelationID != "c-1" || p.Instance != "/x" {
				t.Errorf("%v: got %+v", err, p)
			}
			if p.Type == "" || p.Title != http.StatusText(c.status) {
				t.Errorf("%v: type %q title %q", err, p.Type, p.Title)
			}
		}
	}
	p := FromError(ctx, cases[0].err)
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.name" || p.Errors[0].Message != "empty" {
		t.Errorf("field errors: %+v", p.Errors)
	}
	if got := FromError(ctx, kernel.Unauthorized("a", "b")).GetHeaders().Get("WWW-Authenticate"); got == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestUnknownErrorsAreLoggedAndHidden(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	ctx := WithRequestInfo(context.Background(), &RequestInfo{CorrelationID: "c-2", Logger: zap.New(core)})
	p := FromError(ctx, fmt.Errorf("query failed: %w", errors.New("password=hunter2")))
	if p.Status != 500 || p.Detail != "an internal error occurred" || p.Code != "" {
		t.Fatalf("got %+v", p)
	}
	if logs.Len() != 1 || logs.All()[0].ContextMap()["error"] != "query failed: password=hunter2" {
		t.Fatalf("the cause must be logged in full: %v", logs.All())
	}
	// A domain error with no kind is an internal error too.
	if FromError(ctx, &kernel.Error{Code: "x"}).Status != 500 {
		t.Fatal("kindless domain error")
	}
	// A problem passes through unchanged.
	orig := NewProblem(ctx, 418, "teapot")
	if FromError(ctx, fmt.Errorf("w: %w", orig)) != orig {
		t.Fatal("a wrapped problem was rebuilt")
	}
}

func TestWriteProblem(t *testing.T) {
	rec := httptest.NewRecorder()
	p := FromError(context.Background(), kernel.Unauthorized("a", "no"))
	WriteProblem(rec, p)
	if rec.Code != 401 || rec.Header().Get("Content-Type") != ProblemContentType || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}

func TestSubjectRequiresAuthentication(t *testing.T) {
	if _, err := Subject(context.Background()); kernel.KindOf(err) != kernel.KindUnauthorized {
		t.Fatalf("no subject: %v", err)
	}
	alice, _ := kernel.ParseSubject("alice")
	ctx := WithRequestInfo(context.Background(), &RequestInfo{Subject: alice})
	if s, err := Subject(ctx); err != nil || s != alice {
		t.Fatalf("subject: %v %v", s, err)
	}
}
