package project_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	appproject "github.com/scoped-api/foundation/application/project"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	"github.com/scoped-api/foundation/test/testkit"
)

var carol = must(kernel.ParseSubject("carol"))

// TestMembershipChangesReachTheGateAtOnce: on this instance a role change,
// removal, transfer and deletion apply to the next access at once, and a
// removal or deletion closes what Revoked handed out.
func TestMembershipChangesReachTheGateAtOnce(t *testing.T) {
	f := newFixture(time.Minute)
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "team"}))
	owner := f.access(t, alice, p.ID())
	if m, err := f.svc.AddMember(ctx, owner, bob, project.RoleMember); err != nil || m.Role() != project.RoleMember {
		t.Fatalf("add = %v, %v", m, err)
	}
	member := f.access(t, bob, p.ID())
	if !member.Allows(kernel.ReportProgress) || member.Allows(kernel.UpdateProject) {
		t.Fatalf("a member may %s", member.Permissions())
	}
	revoked, stop := f.gate.Revoked(member)
	defer stop()

	if _, err := f.svc.ChangeMember(ctx, owner, bob, project.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if f.access(t, bob, p.ID()).Allows(kernel.ReportProgress) {
		t.Fatal("the remembered member role outlived a change to viewer")
	}
	select {
	case <-revoked:
		t.Fatal("a role change revoked the stream of someone still a member")
	default:
	}
	if _, err := f.svc.UpdateProject(ctx, member, appproject.UpdateProject{}); !errors.Is(err, kernel.ErrForbidden) {
		t.Fatalf("a member renames = %v", err)
	}
	if err := f.svc.RemoveMember(ctx, owner, bob); err != nil {
		t.Fatal(err)
	}
	select {
	case <-revoked:
	default:
		t.Fatal("removing bob did not close his Revoked")
	}
	if _, err := f.gate.Access(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("a removed member is granted: %v", err)
	}
	// Transfer: carol becomes owner, alice an admin, both at once.
	must(f.svc.AddMember(ctx, owner, carol, project.RoleAdmin))
	f.access(t, carol, p.ID())
	if got, err := f.svc.TransferOwnership(ctx, owner, carol); err != nil || got.Owner() != carol {
		t.Fatalf("transfer = %v, %v", got, err)
	}
	if a := f.access(t, alice, p.ID()); a.Allows(kernel.DeleteProject) || !a.Allows(kernel.ManageMembers) {
		t.Fatalf("after the transfer alice may %s", a.Permissions())
	}
	newOwner := f.access(t, carol, p.ID())
	if !newOwner.Allows(kernel.DeleteProject) {
		t.Fatalf("the new owner may %s", newOwner.Permissions())
	}
	watched, stopWatch := f.gate.Revoked(f.access(t, alice, p.ID()))
	defer stopWatch()
	if err := f.svc.DeleteProject(ctx, newOwner, appproject.DeleteProject{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-watched:
	default:
		t.Fatal("deleting the project did not close its members' Revoked")
	}
	page := must(f.svc.ListMembers(ctx, newOwner, appproject.ListMembers{Limit: 10}))
	_ = page // the deleted project's members are still stored; the gate no longer grants it
	if _, err := f.gate.Access(ctx, alice, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("a deleted project is granted: %v", err)
	}
}

func TestRecheckAsksAgainOnceTheAnswerIsOlderThanAsked(t *testing.T) {
	f := newFixture(time.Minute)
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "team"}))
	owner := f.access(t, alice, p.ID())
	must(f.svc.AddMember(ctx, owner, bob, project.RoleViewer))
	viewer := f.access(t, bob, p.ID())
	// Removed behind this gate's back (another instance).
	other := appproject.NewService(f.repo, appproject.NewGate(f.repo, f.clock, appproject.GateSettings{}), f.clock, &testkit.IDs{})
	if err := other.RemoveMember(ctx, owner, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Recheck(ctx, viewer, 10*time.Second); err != nil {
		t.Fatalf("an answer younger than asked stands: %v", err)
	}
	f.clock.Advance(11 * time.Second)
	if _, err := f.gate.Recheck(ctx, viewer, 10*time.Second); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("an answer older than asked was reused: %v", err)
	}
	// The fresher no also replaced the remembered yes.
	if _, err := f.gate.Access(ctx, bob, p.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("the remembered yes outlived a fresher no: %v", err)
	}
}

func TestMemberUseCasesRefuseWhatTheRoleDoesNotAllow(t *testing.T) {
	f := newFixture(0)
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "team"}))
	owner := f.access(t, alice, p.ID())
	must(f.svc.AddMember(ctx, owner, bob, project.RoleViewer))
	viewer := f.access(t, bob, p.ID())
	_, addErr := f.svc.AddMember(ctx, viewer, carol, project.RoleViewer)
	_, changeErr := f.svc.ChangeMember(ctx, viewer, alice, project.RoleViewer)
	_, transferErr := f.svc.TransferOwnership(ctx, viewer, bob)
	for name, err := range map[string]error{"add": addErr, "change": changeErr, "transfer": transferErr,
		"remove the owner": f.svc.RemoveMember(ctx, viewer, alice), "delete": f.svc.DeleteProject(ctx, viewer, appproject.DeleteProject{})} {
		if !errors.Is(err, kernel.ErrForbidden) && !errors.Is(err, project.ErrOwnerByTransfer) {
			t.Errorf("a viewer's %s = %v", name, err)
		}
	}
	if _, err := f.svc.ListMembers(ctx, viewer, appproject.ListMembers{Limit: 0}); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("limit 0 = %v", err)
	}
	if err := f.svc.RemoveMember(ctx, viewer, bob); err != nil {
		t.Fatalf("a viewer leaves: %v", err)
	}
	if _, err := f.svc.ChangeMember(ctx, owner, bob, project.RoleMember); !errors.Is(err, project.ErrMemberNotFound) {
		t.Fatalf("change of a former member = %v", err)
	}
}

func keysFixture(t *testing.T) (fixture, *appproject.Keys, kernel.ProjectAccess) {
	t.Helper()
	f := newFixture(time.Minute)
	keys := appproject.NewKeys(f.repo, f.gate, f.clock, &testkit.IDs{}, appproject.KeySettings{Secret: []byte("test key secret"), CacheTTL: time.Minute})
	p := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "keys"}))
	return f, keys, f.access(t, alice, p.ID())
}

func TestAKeyAuthenticatesAsItsOwnSubjectAndActsOnlyInItsProject(t *testing.T) {
	f, keys, owner := keysFixture(t)
	exp := start.Add(time.Hour)
	key, token, err := keys.CreateKey(ctx, owner, appproject.CreateKey{Name: "worker", Permissions: kernel.ReadOperations | kernel.ReportProgress, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if !keys.IsKey(token) || !strings.HasPrefix(token, appproject.KeyPrefix) || keys.IsKey("eyJhbGciOi") {
		t.Fatalf("token %q", token)
	}
	sub, expires, err := keys.Authenticate(ctx, token)
	if err != nil || sub != kernel.KeySubject(key.ID()) || !expires.Equal(exp) {
		t.Fatalf("authenticate = %v %v %v", sub, expires, err)
	}
	if id, ok := sub.Key(); !ok || id != key.ID() {
		t.Fatalf("the key's subject does not name it: %v", sub)
	}
	access := f.access(t, sub, owner.Project())
	if access.Permissions() != kernel.ReadOperations|kernel.ReportProgress {
		t.Fatalf("the key's access may %s", access.Permissions())
	}
	other := must(f.svc.CreateProject(ctx, alice, appproject.CreateProject{Name: "other"}))
	if _, err := f.gate.Access(ctx, sub, other.ID()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("the key in another project = %v", err)
	}
	if _, err := f.svc.CreateProject(ctx, sub, appproject.CreateProject{Name: "key's"}); !errors.Is(err, kernel.ErrForbidden) {
		t.Fatalf("a key creates a project: %v", err)
	}
	if _, err := f.svc.ListProjects(ctx, sub, appproject.ListProjects{Limit: 1}); !errors.Is(err, kernel.ErrForbidden) {
		t.Fatalf("a key lists projects: %v", err)
	}
	// A person's token cannot pass for the key.
	if _, err := kernel.ParseSubject(sub.String()); err == nil {
		t.Fatal("a token subject in a key's form parsed")
	}
	if restored, err := kernel.RestoreSubject(sub.String()); err != nil || restored != sub {
		t.Fatalf("restore = %v, %v", restored, err)
	}

	for name, bad := range map[string]string{
		"forged secret": token[:len(token)-2] + "AA",
		"short":         token[:len(token)-1],
		"not hex":       appproject.KeyPrefix + strings.Repeat("z", 32) + token[len(appproject.KeyPrefix)+32:],
		"no separator":  strings.Replace(token, "_", "-", 2),
		"unknown id":    appproject.KeyPrefix + strings.Repeat("1", 32) + token[len(appproject.KeyPrefix)+32:],
	} {
		if _, _, err := keys.Authenticate(ctx, bad); !errors.Is(err, kernel.ErrTokenInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	f.clock.Advance(2 * time.Hour)
	if _, _, err := keys.Authenticate(ctx, token); !errors.Is(err, kernel.ErrTokenExpired) {
		t.Fatalf("an expired key = %v", err)
	}
	if _, err := f.gate.Access(ctx, sub, owner.Project()); !errors.Is(err, project.ErrNotFound) {
		t.Fatalf("an expired key is granted: %v", err)
	}
}

func TestRevokingAKeyRefusesItAtOnceHereAndAfterTheTTLElsewhere(t *testing.T) {
	f, keys, owner := keysFixture(t)
	key, token, err := keys.CreateKey(ctx, owner, appproject.CreateKey{Name: "w", Permissions: kernel.ReportProgress})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := appproject.NewKeys(f.repo, appproject.NewGate(f.repo, f.clock, appproject.GateSettings{CacheTTL: time.Minute}),
		f.clock, &testkit.IDs{}, appproject.KeySettings{Secret: []byte("test key secret"), CacheTTL: time.Minute})
	if _, _, err := elsewhere.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	access := f.access(t, key.Subject(), owner.Project())
	revoked, stop := f.gate.Revoked(access)
	defer stop()
	if err := keys.RevokeKey(ctx, owner, key.ID()); err != nil {
		t.Fatal(err)
	}
	if err := keys.RevokeKey(ctx, owner, key.ID()); !errors.Is(err, project.ErrKeyRevoked) {
		t.Fatalf("second revoke = %v", err)
	}
	select {
	case <-revoked:
	default:
		t.Fatal("revoking did not end the key's streams here")
	}
	if _, _, err := keys.Authenticate(ctx, token); !errors.Is(err, kernel.ErrTokenInvalid) {
		t.Fatalf("here, after revocation = %v", err)
	}
	if _, _, err := elsewhere.Authenticate(ctx, token); err != nil {
		t.Fatalf("elsewhere, within the TTL, the remembered key stands: %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, _, err := elsewhere.Authenticate(ctx, token); !errors.Is(err, kernel.ErrTokenInvalid) {
		t.Fatalf("elsewhere, after the TTL = %v", err)
	}
	page := must(keys.ListKeys(ctx, owner, appproject.ListKeys{Limit: 10}))
	if len(page.Items) != 1 || page.Items[0].RevokedAt() == nil {
		t.Fatalf("keys = %+v", page.Items)
	}
}

func TestKeyUseCasesNeedManageKeys(t *testing.T) {
	f, keys, owner := keysFixture(t)
	must(f.svc.AddMember(ctx, owner, bob, project.RoleMember))
	member := f.access(t, bob, owner.Project())
	_, _, createErr := keys.CreateKey(ctx, member, appproject.CreateKey{Name: "w", Permissions: kernel.ReportProgress})
	_, listErr := keys.ListKeys(ctx, member, appproject.ListKeys{Limit: 1})
	for name, err := range map[string]error{"create": createErr, "list": listErr, "revoke": keys.RevokeKey(ctx, member, kernel.KeyID{})} {
		if !errors.Is(err, kernel.ErrForbidden) {
			t.Errorf("a member's %s = %v", name, err)
		}
	}
	if _, _, err := keys.CreateKey(ctx, owner, appproject.CreateKey{Name: "w", Permissions: kernel.ManageMembers}); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("a key that manages members = %v", err)
	}
	if _, err := keys.ListKeys(ctx, owner, appproject.ListKeys{Limit: 0}); kernel.KindOf(err) != kernel.KindInvalid {
		t.Fatalf("limit 0 = %v", err)
	}
}
