package httpkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scoped-api/foundation/domain/kernel"
)

func TestEveryKindMapsToItsStatusThroughWrapping(t *testing.T) {
	ctx := WithRequest(context.Background(), NewRequest(zap.NewNop(), "c-1", "GET", "/x", "/x", ""))
	cases := []struct {
		err    *kernel.Error
		status int
	}{
		{kernel.Invalid("v.bad", "bad", kernel.FieldError{Field: "name", Message: "empty"}), 422},
		{kernel.NotFound("v.nf", "nf"), 404},
		{kernel.Conflict("v.c", "c"), 409},
		{kernel.Unauthorized("v.u", "u"), 401},
		{kernel.TooManyRequests("v.t", "t"), 429},
		{kernel.Unavailable("v.un", "down", errors.New("dial")), 503},
		{kernel.PreconditionFailed("v.pf", "stale"), 412},
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
	ctx := WithRequest(context.Background(), NewRequest(zap.New(core), "c-2", "GET", "/y", "/y", ""))
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

func TestTheRecordAnswersForTheCallerAndTheAccess(t *testing.T) {
	ctx := context.Background()
	if _, err := Caller(ctx); FromError(ctx, err).Status != 401 {
		t.Fatalf("no record: %v", err)
	}
	alice, _ := kernel.ParseSubject("alice")
	p := kernel.ProjectIDFrom(uuid.New())
	r := NewRequest(zap.NewNop(), "c", "GET", "/api/v1/projects/"+p.String(), "/api/v1/projects/{project_id}", p.String())
	ctx = WithRequest(ctx, r)
	if r.ProjectID() != p {
		t.Fatalf("project parsed once when the record is made: %v", r.ProjectID())
	}
	if _, err := Access(ctx); FromError(ctx, err).Status != 401 {
		t.Fatalf("before authentication: %v", err)
	}
	r.Authenticated(alice, time.Unix(100, 0))
	if s, err := Caller(ctx); err != nil || s != alice || !r.TokenExpiresAt().Equal(time.Unix(100, 0)) {
		t.Fatalf("caller: %v %v", s, err)
	}
	if _, err := Access(ctx); FromError(ctx, err).Status != 500 {
		t.Fatalf("a project route the gate never saw must be a wiring error: %v", err)
	}
	r.Granted(kernel.GrantProjectAccess(alice, p, kernel.AllPermissions))
	if a, err := Access(ctx); err != nil || a.Project() != p || a.Subject() != alice {
		t.Fatalf("access: %v %v", a, err)
	}
	bad := WithRequest(context.Background(), NewRequest(zap.NewNop(), "c", "GET", "/x", "/x", "nope"))
	if _, err := Access(bad); len(FromError(bad, err).Errors) != 1 || FromError(bad, err).Errors[0].Location != "path.project_id" {
		t.Fatalf("a bad project id: %v", err)
	}
	if (*Request)(nil).Route() != "" || (*Request)(nil).ProjectID() != (kernel.ProjectID{}) {
		t.Fatal("a nil record reads as empty")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := kernel.Cursor{At: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC), ID: uuid.New()}
	got, err := ParseCursor(context.Background(), EncodeCursor(c))
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(c.At) || got.ID != c.ID {
		t.Fatalf("round trip: got %+v, want %+v", got, c)
	}
	for _, bad := range []string{"", "!!!", "e30", strings.Repeat("a", 300), "eyJ0IjotMX0"} {
		_, err := ParseCursor(context.Background(), bad)
		var p *Problem
		if !errors.As(err, &p) || p.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Location != "query.cursor" {
			t.Errorf("ParseCursor(%q) = %v, want a 422 naming query.cursor", bad, err)
		}
	}
}
