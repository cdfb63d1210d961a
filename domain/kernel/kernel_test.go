package kernel_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
)

func TestErrorsMatchThroughWrapping(t *testing.T) {
	notFound := kernel.NotFound("thing.not_found", "thing not found")
	wrapped := fmt.Errorf("loading: %w", notFound)

	if !errors.Is(wrapped, kernel.NotFound("thing.not_found", "another message")) {
		t.Fatal("errors.Is must match a wrapped domain error with the same kind and code")
	}
	if errors.Is(wrapped, kernel.NotFound("other.not_found", "")) {
		t.Fatal("errors.Is must not match another code")
	}
	if errors.Is(wrapped, kernel.Conflict("thing.not_found", "")) {
		t.Fatal("errors.Is must not match another kind")
	}
	if got := kernel.KindOf(wrapped); got != kernel.KindNotFound {
		t.Fatalf("KindOf(wrapped) = %v", got)
	}
	if got := kernel.KindOf(errors.New("plain")); got != kernel.KindUnknown {
		t.Fatalf("KindOf(plain) = %v", got)
	}
}

func TestErrorConstructorsSetTheirKind(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	cases := map[kernel.Kind]*kernel.Error{
		kernel.KindInvalid:            kernel.Invalid("c", "m", kernel.FieldError{Field: "f", Message: "bad"}),
		kernel.KindNotFound:           kernel.NotFound("c", "m"),
		kernel.KindConflict:           kernel.Conflict("c", "m"),
		kernel.KindUnauthorized:       kernel.Unauthorized("c", "m"),
		kernel.KindTooManyRequests:    kernel.TooManyRequests("c", "m"),
		kernel.KindUnavailable:        kernel.Unavailable("c", "m", cause),
		kernel.KindPreconditionFailed: kernel.PreconditionFailed("c", "m"),
	}
	for kind, err := range cases {
		if err.Kind != kind {
			t.Errorf("%v constructor made kind %v", kind, err.Kind)
		}
		if kind.String() == "unknown" {
			t.Errorf("kind %d has no name", kind)
		}
	}
	if !errors.Is(cases[kernel.KindUnavailable], cause) {
		t.Error("Unavailable must wrap its cause")
	}
	if !strings.Contains(cases[kernel.KindUnavailable].Error(), "refused") {
		t.Error("the message of a wrapping error names the cause")
	}
	if kernel.Kind(99).String() != "unknown" {
		t.Error("an undefined kind is unknown")
	}
}

func TestParseProjectID(t *testing.T) {
	id := uuid.New()
	got, err := kernel.ParseProjectID(id.String())
	if err != nil || got.UUID() != id || got.String() != id.String() {
		t.Fatalf("ParseProjectID(%s) = %v, %v", id, got, err)
	}
	for _, bad := range []string{"", "abc", uuid.Nil.String(), "urn:uuid:" + id.String(), "{" + id.String() + "}", strings.ToUpper(id.String()) + "0"} {
		_, err := kernel.ParseProjectID(bad)
		if kernel.KindOf(err) != kernel.KindInvalid {
			t.Errorf("ParseProjectID(%q) = %v, want an invalid error", bad, err)
		}
	}
	if !(kernel.ProjectID{}).IsZero() {
		t.Error("zero ProjectID must report IsZero")
	}
}

func TestParseSubject(t *testing.T) {
	s, err := kernel.ParseSubject("alice")
	if err != nil || s.String() != "alice" || s.IsZero() {
		t.Fatalf("ParseSubject(alice) = %v, %v", s, err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", kernel.MaxSubjectLength+1), "ali\x00ce", "\xff", "bob\ufffd", "\u200b", "a\nb"} {
		if _, err := kernel.ParseSubject(bad); kernel.KindOf(err) != kernel.KindUnauthorized {
			t.Errorf("ParseSubject(%q) = %v, want unauthorized", bad, err)
		}
	}
}

func TestCheckPageLimit(t *testing.T) {
	for _, ok := range []int{1, kernel.DefaultPageLimit, kernel.MaxPageLimit} {
		if err := kernel.CheckPageLimit(ok); err != nil {
			t.Errorf("limit %d refused: %v", ok, err)
		}
	}
	for _, bad := range []int{-1, 0, kernel.MaxPageLimit + 1} {
		if err := kernel.CheckPageLimit(bad); kernel.KindOf(err) != kernel.KindInvalid {
			t.Errorf("limit %d accepted", bad)
		}
	}
}

func TestTimestampIsUTCMicroseconds(t *testing.T) {
	in := time.Date(2026, 1, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
	got := kernel.Timestamp(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Fatalf("Timestamp(%v) = %v", in, got)
	}
}

func TestParseIDNamesItsKind(t *testing.T) {
	_, err := kernel.ParseProjectID("nope")
	var de *kernel.Error
	if !errors.As(err, &de) || de.Code != "project.id_invalid" || len(de.Fields) != 1 || de.Fields[0].Field != "project_id" {
		t.Fatalf("ParseProjectID error = %v", err)
	}
	id := uuid.New()
	if got := kernel.ProjectIDFrom(id); got.UUID() != id || got.IsZero() {
		t.Fatalf("ProjectIDFrom = %v", got)
	}
}

func TestProjectAccessCarriesItsGrant(t *testing.T) {
	alice, _ := kernel.ParseSubject("alice")
	p := kernel.ProjectIDFrom(uuid.New())
	a := kernel.GrantProjectAccess(alice, p, kernel.AllPermissions)
	if a.Subject() != alice || a.Project() != p || a.IsZero() {
		t.Fatalf("access %+v", a)
	}
	if !(kernel.ProjectAccess{}).IsZero() || !kernel.GrantProjectAccess(alice, kernel.ProjectID{}, kernel.AllPermissions).IsZero() {
		t.Fatal("an access without a project or a subject grants nothing")
	}
}

func TestTextRefusesWhatADatabaseWouldChokeOnOrChange(t *testing.T) {
	one := kernel.Text{Field: "name", Max: 5, Required: true}
	many := kernel.Text{Field: "description", Max: 20, Multiline: true}
	for _, c := range []struct {
		rule kernel.Text
		in   string
		ok   bool
	}{
		{one, "Apollo", false}, // six characters
		{one, "Ünïcø", true},   // five characters, ten bytes
		{one, "", false},
		{one, "   ", false},
		{one, "\u200b\u200d\ufeff", false}, // zero-width only
		{one, "a\u200bb", true},
		{one, "a\x00", false},
		{one, "a\tb", false},
		{many, "a\tb\r\nc", true},
		{many, "", true},
		{many, "x\x00y", false},
		{many, "x\x7fy", false},
		{many, "x\u0085y", false}, // C1
		{many, "\xff\xfe", false},
		{many, "lone \ufffd", false},
	} {
		f, ok := c.rule.Check(c.in)
		if ok != c.ok || (!ok && (f.Field != c.rule.Field || f.Message == "")) {
			t.Errorf("%s.Check(%q) = %+v, %v; want ok=%v", c.rule.Field, c.in, f, ok, c.ok)
		}
	}
}

func TestExpectedVersion(t *testing.T) {
	if err := kernel.AnyVersion().Check(42); err != nil || !kernel.AnyVersion().IsAny() {
		t.Fatalf("any version refused 42: %v", err)
	}
	two := kernel.ExpectVersion(2, 5)
	if two.IsAny() {
		t.Fatal("an expected version is not any")
	}
	for v, ok := range map[kernel.Version]bool{2: true, 5: true, 3: false, 0: false} {
		err := two.Check(v)
		if (err == nil) != ok {
			t.Errorf("Check(%d) = %v", v, err)
		}
		if !ok && (kernel.KindOf(err) != kernel.KindPreconditionFailed || !errors.Is(err, kernel.ErrVersionMismatch)) {
			t.Errorf("Check(%d) = %v, want a precondition failure", v, err)
		}
	}
	if err := kernel.ExpectVersion().Check(0); err == nil {
		t.Error("expecting no version at all met version 0")
	}
}
