package kernel

import (
	"math/bits"
	"strings"
)

// ProjectAccess is the capability to act in one project on behalf of one
// caller, within the permissions the caller holds there. Every
// project-scoped use case and repository method takes one, so a path that
// forgot to ask the project gate does not compile. Only the gate
// (application/project) mints it, with GrantProjectAccess, after it has
// decided that the caller may see the project and what their role (or
// key) lets them do; the architecture rules report a call anywhere else.
// The zero value grants nothing.
type ProjectAccess struct {
	subject Subject
	project ProjectID
	may     Permission
}

// GrantProjectAccess is reserved to the project gate; see ProjectAccess.
func GrantProjectAccess(subject Subject, project ProjectID, may Permission) ProjectAccess {
	return ProjectAccess{subject: subject, project: project, may: may}
}

// Subject is the caller the access was granted to.
func (a ProjectAccess) Subject() Subject { return a.subject }

// Project is the project the access is for.
func (a ProjectAccess) Project() ProjectID { return a.project }

// Permissions are what the caller may do in the project.
func (a ProjectAccess) Permissions() Permission { return a.may }

// IsZero reports an access nobody granted.
func (a ProjectAccess) IsZero() bool { return a.subject.IsZero() || a.project.IsZero() }

// Allows reports whether the access holds every permission in p.
func (a ProjectAccess) Allows(p Permission) bool { return !a.IsZero() && a.may&p == p }

// Require is nil when the access Allows p, ErrForbidden otherwise: the
// caller can see the project, so a refusal may say so.
func (a ProjectAccess) Require(p Permission) error {
	if a.Allows(p) {
		return nil
	}
	return ErrForbidden
}

// ErrForbidden refuses a caller who may see the project but not do this.
var ErrForbidden = Forbidden("project.forbidden", "your role in this project, or this key's permissions, do not allow this")

// Permission is a set of things a caller may do in a project; each
// constant is one of them. Roles (domain/project) and project keys are
// both sets of these.
type Permission uint32

// The permissions. A new bounded context's reads and writes use
// ReadContent and WriteContent unless it needs finer ones.
const (
	ReadProject Permission = 1 << iota
	UpdateProject
	DeleteProject
	ReadMembers
	ManageMembers // members and viewers
	ManageAdmins
	TransferOwnership
	ManageKeys
	ReadOperations
	CreateOperations
	ReportProgress
	CancelOperations
	ReadContent
	WriteContent

	permissionEnd
)

// AllPermissions is every permission there is.
const AllPermissions = permissionEnd - 1

var permissionNames = [...]string{
	"project:read", "project:update", "project:delete",
	"members:read", "members:manage", "admins:manage", "ownership:transfer", "keys:manage",
	"operations:read", "operations:create", "operations:report", "operations:cancel",
	"content:read", "content:write",
}

// ParsePermission accepts one permission's name ("operations:report").
func ParsePermission(name string) (Permission, bool) {
	for i, n := range permissionNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Names lists the permissions in p, in declaration order.
func (p Permission) Names() []string {
	names := make([]string, 0, bits.OnesCount32(uint32(p)))
	for i, n := range permissionNames {
		if p&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

func (p Permission) String() string { return strings.Join(p.Names(), " ") }

// PermissionNames is every permission's name, in declaration order.
func PermissionNames() []string { return AllPermissions.Names() }
