package httpkit

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/scoped-api/foundation/domain/kernel"
)

func TestETagIsStrongAndQuoted(t *testing.T) {
	for v, want := range map[kernel.Version]string{0: `"0"`, 7: `"7"`, 1 << 40: `"1099511627776"`} {
		if got := ETag(v); got != want {
			t.Errorf("ETag(%d) = %s, want %s", v, got, want)
		}
	}
}

// TestIfMatchComparesStrongly: the versions a header expects, checked on
// stored versions as the write would.
func TestIfMatchComparesStrongly(t *testing.T) {
	cases := []struct {
		header string
		meets  map[kernel.Version]bool
	}{
		{"", map[kernel.Version]bool{0: true, 9: true}},
		{"*", map[kernel.Version]bool{0: true, 9: true}},
		{" * ", map[kernel.Version]bool{3: true}},
		{`"3"`, map[kernel.Version]bool{3: true, 4: false, 0: false}},
		{`"3", "5"`, map[kernel.Version]bool{3: true, 5: true, 4: false}},
		{`"3","5"`, map[kernel.Version]bool{5: true}},
		{`W/"3"`, map[kernel.Version]bool{3: false}},
		{`W/"3", "4"`, map[kernel.Version]bool{3: false, 4: true}},
		{`"03"`, map[kernel.Version]bool{3: false}},
		{`"+3"`, map[kernel.Version]bool{3: false}},
		{`"-1"`, map[kernel.Version]bool{0: false}},
		{`"abc"`, map[kernel.Version]bool{0: false}},
		{`3`, map[kernel.Version]bool{3: false}},
		{`"3`, map[kernel.Version]bool{3: false}},
		{`"3" "4"`, map[kernel.Version]bool{3: false, 4: false}},
		{"\"3\x00\"", map[kernel.Version]bool{3: false}},
		{`"99999999999999999999"`, map[kernel.Version]bool{0: false}},
	}
	for _, c := range cases {
		e := IfMatch(c.header)
		for v, ok := range c.meets {
			err := e.Check(v)
			if (err == nil) != ok {
				t.Errorf("If-Match %q on version %d: %v, want met=%v", c.header, v, err, ok)
			}
			if err != nil && !errors.Is(err, kernel.ErrVersionMismatch) {
				t.Errorf("If-Match %q: %v is not a version mismatch", c.header, err)
			}
		}
	}
}

func TestNoneMatchComparesWeakly(t *testing.T) {
	etag := ETag(4)
	for header, want := range map[string]bool{
		"":                 false,
		"*":                true,
		`"4"`:              true,
		`W/"4"`:            true,
		`"3", W/"4"`:       true,
		`"3"`:              false,
		`"04"`:             false,
		`4`:                false,
		`"4`:               false,
		`"3", garbage "4"`: false,
	} {
		if got := NoneMatch(header, etag); got != want {
			t.Errorf("If-None-Match %q against %s = %v, want %v", header, etag, got, want)
		}
	}
}

func TestPreconditionRequiredIsA428Problem(t *testing.T) {
	p := PreconditionRequired(context.Background())
	if p.Status != http.StatusPreconditionRequired || p.Code != "precondition_required" || p.Type != "/problems/precondition-required" {
		t.Fatalf("got %+v", p)
	}
	if p := FromError(context.Background(), kernel.ErrVersionMismatch); p.Status != http.StatusPreconditionFailed ||
		p.Code != "precondition_failed" || p.Type != "/problems/precondition-failed" {
		t.Fatalf("a version mismatch answers %+v", p)
	}
}
