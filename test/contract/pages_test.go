package contract

import (
	"testing"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// allPages follows a list from its first page to its last, cursor by
// cursor, and returns every item in the order served. A page over limit
// (when limit > 0) or a walk of more than ten pages fails the test.
func allPages[T any](t *testing.T, limit int, list func(after *kernel.Cursor) ([]T, *kernel.Cursor, error)) []T {
	t.Helper()
	var seen []T
	var after *kernel.Cursor
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		items, next, err := list(after)
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 && len(items) > limit {
			t.Fatalf("page of %d items with limit %d", len(items), limit)
		}
		seen = append(seen, items...)
		if next == nil {
			return seen
		}
		after = next
	}
}

type listID interface {
	comparable
	String() string
}

// listed is what a newest-first list orders by.
type listed[K listID] interface {
	ID() K
	CreatedAt() time.Time
}

// assertNewestFirstOnce checks that seen holds each of want exactly once,
// newest first, ties broken by the larger id first.
func assertNewestFirstOnce[K listID, T listed[K]](t *testing.T, seen []T, want map[K]bool) {
	t.Helper()
	if len(seen) != len(want) {
		t.Fatalf("saw %d items, want %d", len(seen), len(want))
	}
	for i, it := range seen {
		if !want[it.ID()] {
			t.Fatalf("unexpected or duplicate item %s", it.ID())
		}
		delete(want, it.ID())
		if i > 0 {
			prev := seen[i-1]
			if it.CreatedAt().After(prev.CreatedAt()) ||
				(it.CreatedAt().Equal(prev.CreatedAt()) && it.ID().String() > prev.ID().String()) {
				t.Fatalf("order broken at %d: %s after %s", i, it.ID(), prev.ID())
			}
		}
	}
}
