package project_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

var (
	now   = time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	alice = must(kernel.ParseSubject("alice"))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newID() kernel.ProjectID { return kernel.ProjectIDFrom(uuid.New()) }

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	var de *kernel.Error
	if !errors.As(err, &de) || de.Kind != kernel.KindInvalid {
		t.Fatalf("want an invalid error, got %v", err)
	}
	out := map[string]string{}
	for _, f := range de.Fields {
		out[f.Field] = f.Message
	}
	return out
}

func TestNewTrimsAndStampsTimes(t *testing.T) {
	p, err := project.New(newID(), alice, "  Apollo \t", "moon", now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "Apollo" || p.Description() != "moon" || p.Owner() != alice {
		t.Fatalf("unexpected project %+v", p)
	}
	if !p.CreatedAt().Equal(now.Truncate(time.Microsecond)) || !p.UpdatedAt().Equal(p.CreatedAt()) || p.IsDeleted() {
		t.Fatalf("times: created %v updated %v", p.CreatedAt(), p.UpdatedAt())
	}
}

func TestNameAndDescriptionLimitsCountCharacters(t *testing.T) {
	ok := []struct{ name, desc string }{
		{"a", ""},
		{strings.Repeat("é", project.MaxNameLength), strings.Repeat("ü", project.MaxDescriptionLength)},
		{"  " + strings.Repeat("x", project.MaxNameLength) + "  ", ""},
	}
	for _, c := range ok {
		if _, err := project.New(newID(), alice, c.name, c.desc, now); err != nil {
			t.Errorf("New(%d chars, %d chars) = %v", len([]rune(c.name)), len([]rune(c.desc)), err)
		}
	}
	bad := []struct {
		name, desc string
		fields     []string
	}{
		{"", "", []string{"name"}},
		{"   \t\n", "", []string{"name"}},
		{strings.Repeat("x", project.MaxNameLength+1), "", []string{"name"}},
		{"ok", strings.Repeat("x", project.MaxDescriptionLength+1), []string{"description"}},
		{"", strings.Repeat("x", project.MaxDescriptionLength+1), []string{"name", "description"}},
		{"bad\xffutf8", "", []string{"name"}},
		{"ok", "bad\xff", []string{"description"}},
	}
	for _, c := range bad {
		_, err := project.New(newID(), alice, c.name, c.desc, now)
		fields := fieldsOf(t, err)
		if len(fields) != len(c.fields) {
			t.Errorf("New(%q...) fields = %v, want %v", c.name[:min(len(c.name), 10)], fields, c.fields)
		}
		for _, f := range c.fields {
			if fields[f] == "" {
				t.Errorf("New(%q...) did not report %s", c.name[:min(len(c.name), 10)], f)
			}
		}
	}
}

func TestNewRequiresScope(t *testing.T) {
	if _, err := project.New(kernel.ProjectID{}, alice, "x", "", now); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("zero id accepted: %v", err)
	}
	if _, err := project.New(newID(), kernel.Subject{}, "x", "", now); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("zero owner accepted: %v", err)
	}
}

func TestApplyValidatesEverythingBeforeChangingAnything(t *testing.T) {
	p := must(project.New(newID(), alice, "old", "old desc", now))
	later := now.Add(time.Hour)
	long := strings.Repeat("x", project.MaxDescriptionLength+1)
	newName := "new"
	err := p.Apply(project.Change{Name: &newName, Description: &long}, later)
	if fieldsOf(t, err)["description"] == "" {
		t.Fatal("description error not reported")
	}
	if p.Name() != "old" || p.Description() != "old desc" || !p.UpdatedAt().Equal(p.CreatedAt()) {
		t.Fatal("a failed change must leave the project untouched")
	}

	renamed := "  new  "
	if err := p.Apply(project.Change{Name: &renamed}, later); err != nil {
		t.Fatal(err)
	}
	if p.Name() != "new" || p.Description() != "old desc" || !p.UpdatedAt().Equal(later.Truncate(time.Microsecond)) {
		t.Fatalf("after rename: %q %q %v", p.Name(), p.Description(), p.UpdatedAt())
	}

	same := "new"
	if err := p.Apply(project.Change{Name: &same}, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !p.UpdatedAt().Equal(later.Truncate(time.Microsecond)) {
		t.Fatal("a change to the same values must not touch updated_at")
	}
}

func TestDeleteIsFinal(t *testing.T) {
	p := must(project.New(newID(), alice, "x", "", now))
	later := now.Add(time.Minute)
	if err := p.Delete(later); err != nil {
		t.Fatal(err)
	}
	if !p.IsDeleted() || !p.DeletedAt().Equal(later.Truncate(time.Microsecond)) {
		t.Fatalf("deleted_at = %v", p.DeletedAt())
	}
	if err := p.Delete(later); !errors.Is(err, project.ErrDeleted) {
		t.Fatalf("second delete = %v", err)
	}
	name := "y"
	if err := p.Apply(project.Change{Name: &name}, later); !errors.Is(err, project.ErrDeleted) {
		t.Fatalf("change after delete = %v", err)
	}
}

func TestRehydrateKeepsStoredValues(t *testing.T) {
	id := newID()
	del := now.Add(time.Hour)
	p := project.Rehydrate(id, alice, "n", "d", now, now.Add(time.Minute), &del, 7)
	if p.ID() != id || p.Name() != "n" || p.Description() != "d" || !p.CreatedAt().Equal(now) ||
		!p.UpdatedAt().Equal(now.Add(time.Minute)) || !p.DeletedAt().Equal(del) || p.Version() != 7 {
		t.Fatalf("rehydrated %+v", p)
	}
}

// TestVersionCountsChanges: a new project is version 0, each change that
// changes something adds one, and a change that changes nothing or is
// refused keeps it.
func TestVersionCountsChanges(t *testing.T) {
	p, err := project.New(newID(), alice, "x", "", now)
	if err != nil || p.Version() != 0 {
		t.Fatalf("new: version %d, %v", p.Version(), err)
	}
	same, other, blank := "x", "y", " "
	steps := []struct {
		change project.Change
		want   kernel.Version
	}{
		{project.Change{Name: &same}, 0},
		{project.Change{Name: &other}, 1},
		{project.Change{Name: &blank}, 1},
		{project.Change{Description: &other}, 2},
	}
	for i, s := range steps {
		_ = p.Apply(s.change, now)
		if p.Version() != s.want {
			t.Fatalf("step %d: version %d, want %d", i, p.Version(), s.want)
		}
	}
	if err := p.Delete(now); err != nil || p.Version() != 3 {
		t.Fatalf("delete: version %d, %v", p.Version(), err)
	}
	if err := p.Delete(now); err == nil || p.Version() != 3 {
		t.Fatalf("a refused delete moved the version to %d", p.Version())
	}
}
