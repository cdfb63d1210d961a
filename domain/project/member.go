package project

import (
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Role is what a member is in a project. Exactly one member is the owner.
type Role string

// The roles, from most to least able.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Roles lists every role, most able first.
func Roles() []Role { return []Role{RoleOwner, RoleAdmin, RoleMember, RoleViewer} }

// What each role may do: the one table of the access rules (the docs
// repeat it in docs/architecture.md, "Members and roles").
const (
	viewerMay = kernel.ReadProject | kernel.ReadMembers | kernel.ReadOperations | kernel.ReadContent
	memberMay = viewerMay | kernel.CreateOperations | kernel.ReportProgress | kernel.CancelOperations | kernel.WriteContent
	adminMay  = memberMay | kernel.UpdateProject | kernel.ManageMembers | kernel.ManageKeys
	ownerMay  = adminMay | kernel.ManageAdmins | kernel.TransferOwnership | kernel.DeleteProject
)

// Permissions is what the role may do; an unknown role may do nothing.
func (r Role) Permissions() kernel.Permission {
	switch r {
	case RoleOwner:
		return ownerMay
	case RoleAdmin:
		return adminMay
	case RoleMember:
		return memberMay
	case RoleViewer:
		return viewerMay
	default:
		return 0
	}
}

// ParseRole accepts one of the four roles' names.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if r.Permissions() == 0 {
		return "", kernel.Invalid("member.role_invalid", "the role is not one of owner, admin, member, viewer",
			kernel.FieldError{Field: "role", Message: "must be one of owner, admin, member, viewer"})
	}
	return r, nil
}

// Errors of membership changes.
var (
	ErrMemberNotFound = kernel.NotFound("member.not_found", "no such member of this project")
	ErrMemberExists   = kernel.Conflict("member.exists", "the subject is already a member of this project")
	// ErrOwnerByTransfer: ownership changes hands only by a transfer, so
	// the project always has exactly one owner.
	ErrOwnerByTransfer = kernel.Conflict("member.owner_by_transfer", "the owner changes only by a transfer of ownership: POST …/transfer")
	ErrTransferToSelf  = kernel.Conflict("member.transfer_to_self", "the caller already owns the project")
)

// Member is one subject's role in one project.
type Member struct {
	project   kernel.ProjectID
	subject   kernel.Subject
	role      Role
	createdAt time.Time
	updatedAt time.Time
}

// NewMember makes subject a member of the project in role.
func NewMember(project kernel.ProjectID, subject kernel.Subject, role Role, now time.Time) *Member {
	now = kernel.Timestamp(now)
	return &Member{project: project, subject: subject, role: role, createdAt: now, updatedAt: now}
}

// RehydrateMember rebuilds a member from storage.
func RehydrateMember(project kernel.ProjectID, subject kernel.Subject, role Role, createdAt, updatedAt time.Time) *Member {
	return &Member{project: project, subject: subject, role: role, createdAt: createdAt, updatedAt: updatedAt}
}

func (m *Member) Project() kernel.ProjectID { return m.project }
func (m *Member) Subject() kernel.Subject   { return m.subject }
func (m *Member) Role() Role                { return m.role }
func (m *Member) CreatedAt() time.Time      { return m.createdAt }
func (m *Member) UpdatedAt() time.Time      { return m.updatedAt }

// CanAdd checks that the access may give a new member role: owner only
// by a transfer, admin only by the owner, the others by admins too.
func CanAdd(access kernel.ProjectAccess, role Role) error {
	if role == RoleOwner {
		return ErrOwnerByTransfer
	}
	return access.Require(manages(role))
}

// ChangeRole moves the member to role if the access may manage both the
// role they have and the one they get.
func (m *Member) ChangeRole(access kernel.ProjectAccess, role Role, now time.Time) error {
	if m.role == RoleOwner || role == RoleOwner {
		return ErrOwnerByTransfer
	}
	if err := access.Require(manages(m.role) | manages(role)); err != nil {
		return err
	}
	if m.role != role {
		m.role = role
		m.updatedAt = kernel.Timestamp(now)
	}
	return nil
}

// CanRemove checks that the access may remove the member: any member may
// leave, except the owner, who transfers ownership first.
func (m *Member) CanRemove(access kernel.ProjectAccess) error {
	if m.role == RoleOwner {
		return ErrOwnerByTransfer
	}
	if m.subject == access.Subject() {
		return nil
	}
	return access.Require(manages(m.role))
}

// Transfer makes next the owner and the current owner an admin; only the
// owner may, and only to another member.
func Transfer(access kernel.ProjectAccess, owner, next *Member, now time.Time) error {
	if err := access.Require(kernel.TransferOwnership); err != nil {
		return err
	}
	if owner.subject != access.Subject() || owner.role != RoleOwner {
		return kernel.ErrForbidden
	}
	if next.subject == owner.subject {
		return ErrTransferToSelf
	}
	at := kernel.Timestamp(now)
	owner.role, owner.updatedAt = RoleAdmin, at
	next.role, next.updatedAt = RoleOwner, at
	return nil
}

// manages is the permission it takes to give or take away role.
func manages(role Role) kernel.Permission {
	if role == RoleAdmin {
		return kernel.ManageAdmins
	}
	return kernel.ManageMembers
}

// TransferTo changes the project's owner; its name must then be free
// among the new owner's live projects (the repository checks).
func (p *Project) TransferTo(owner kernel.Subject, now time.Time) error {
	if p.deletedAt != nil {
		return ErrDeleted
	}
	p.owner = owner
	p.updatedAt = kernel.Timestamp(now)
	p.version++
	return nil
}
