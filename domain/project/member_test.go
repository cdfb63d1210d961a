package project_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// TestTheRolesTable is the table of docs/architecture.md, "Members and
// roles", cell by cell.
func TestTheRolesTable(t *testing.T) {
	table := map[kernel.Permission]string{ // roles allowed, most able first
		kernel.ReadProject:       "owner admin member viewer",
		kernel.ReadMembers:       "owner admin member viewer",
		kernel.ReadOperations:    "owner admin member viewer",
		kernel.ReadContent:       "owner admin member viewer",
		kernel.CreateOperations:  "owner admin member",
		kernel.ReportProgress:    "owner admin member",
		kernel.CancelOperations:  "owner admin member",
		kernel.WriteContent:      "owner admin member",
		kernel.UpdateProject:     "owner admin",
		kernel.ManageMembers:     "owner admin",
		kernel.ManageKeys:        "owner admin",
		kernel.ManageAdmins:      "owner",
		kernel.TransferOwnership: "owner",
		kernel.DeleteProject:     "owner",
	}
	var every kernel.Permission
	for p, want := range table {
		every |= p
		got := ""
		for _, r := range project.Roles() {
			if r.Permissions()&p != 0 {
				got += " " + string(r)
			}
		}
		if got != " "+want {
			t.Errorf("%s: roles%s, want %s", p, got, want)
		}
	}
	if every != kernel.AllPermissions {
		t.Errorf("the table leaves out %s", kernel.AllPermissions&^every)
	}
	if project.Role("root").Permissions() != 0 {
		t.Error("an unknown role may do something")
	}
	for _, r := range project.Roles() {
		if got, err := project.ParseRole(string(r)); err != nil || got != r {
			t.Errorf("parse %q = %q, %v", r, got, err)
		}
	}
	for _, bad := range []string{"", "Owner", "root", "viewer "} {
		if _, err := project.ParseRole(bad); kernel.KindOf(err) != kernel.KindInvalid {
			t.Errorf("parse %q = %v", bad, err)
		}
	}
}

func TestWhoMayManageWhom(t *testing.T) {
	id := kernel.ProjectIDFrom(uuid.New())
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	as := func(who string, r project.Role) kernel.ProjectAccess {
		s, _ := kernel.ParseSubject(who)
		return kernel.GrantProjectAccess(s, id, r.Permissions())
	}
	m := func(who string, r project.Role) *project.Member {
		s, _ := kernel.ParseSubject(who)
		return project.NewMember(id, s, r, now)
	}
	owner, admin, member := as("o", project.RoleOwner), as("a", project.RoleAdmin), as("m", project.RoleMember)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"admin adds a member", project.CanAdd(admin, project.RoleMember), nil},
		{"admin adds an admin", project.CanAdd(admin, project.RoleAdmin), kernel.ErrForbidden},
		{"owner adds an admin", project.CanAdd(owner, project.RoleAdmin), nil},
		{"nobody adds an owner", project.CanAdd(owner, project.RoleOwner), project.ErrOwnerByTransfer},
		{"member adds a viewer", project.CanAdd(member, project.RoleViewer), kernel.ErrForbidden},
		{"admin promotes a viewer to member", m("v", project.RoleViewer).ChangeRole(admin, project.RoleMember, now), nil},
		{"admin promotes a member to admin", m("x", project.RoleMember).ChangeRole(admin, project.RoleAdmin, now), kernel.ErrForbidden},
		{"admin demotes an admin", m("y", project.RoleAdmin).ChangeRole(admin, project.RoleMember, now), kernel.ErrForbidden},
		{"owner demotes an admin", m("y", project.RoleAdmin).ChangeRole(owner, project.RoleViewer, now), nil},
		{"owner demotes themself", m("o", project.RoleOwner).ChangeRole(owner, project.RoleAdmin, now), project.ErrOwnerByTransfer},
		{"owner makes another owner", m("y", project.RoleAdmin).ChangeRole(owner, project.RoleOwner, now), project.ErrOwnerByTransfer},
		{"member changes a viewer", m("v", project.RoleViewer).ChangeRole(member, project.RoleMember, now), kernel.ErrForbidden},
		{"a member leaves", m("m", project.RoleMember).CanRemove(member), nil},
		{"an admin leaves", m("a", project.RoleAdmin).CanRemove(admin), nil},
		{"the owner leaves", m("o", project.RoleOwner).CanRemove(owner), project.ErrOwnerByTransfer},
		{"admin removes a member", m("z", project.RoleMember).CanRemove(admin), nil},
		{"admin removes an admin", m("b", project.RoleAdmin).CanRemove(admin), kernel.ErrForbidden},
		{"owner removes an admin", m("b", project.RoleAdmin).CanRemove(owner), nil},
		{"member removes a viewer", m("v", project.RoleViewer).CanRemove(member), kernel.ErrForbidden},
		{"admin transfers", project.Transfer(admin, m("o", project.RoleOwner), m("a", project.RoleAdmin), now), kernel.ErrForbidden},
		{"owner transfers to themself", project.Transfer(owner, m("o", project.RoleOwner), m("o", project.RoleOwner), now), project.ErrTransferToSelf},
		{"owner access on a membership that is not the owner's", project.Transfer(owner, m("a", project.RoleAdmin), m("m", project.RoleMember), now), kernel.ErrForbidden},
	}
	for _, c := range cases {
		if (c.want == nil) != (c.err == nil) || (c.want != nil && !errors.Is(c.err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	o, heir := m("o", project.RoleOwner), m("m", project.RoleMember)
	if err := project.Transfer(owner, o, heir, now.Add(time.Hour)); err != nil || o.Role() != project.RoleAdmin || heir.Role() != project.RoleOwner ||
		!heir.UpdatedAt().Equal(now.Add(time.Hour)) {
		t.Fatalf("transfer: %v; owner now %s, heir %s", err, o.Role(), heir.Role())
	}
}
