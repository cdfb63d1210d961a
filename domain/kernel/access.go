package kernel

// ProjectAccess is the capability to act in one project on behalf of one
// caller. Every project-scoped use case and repository method takes one,
// so a path that forgot to ask the project gate does not compile. Only the
// gate (application/project) mints it, with GrantProjectAccess, after it
// has decided that the caller may act in the project; the architecture
// rules report a call anywhere else. The zero value grants nothing.
type ProjectAccess struct {
	subject Subject
	project ProjectID
}

// GrantProjectAccess is reserved to the project gate; see ProjectAccess.
func GrantProjectAccess(subject Subject, project ProjectID) ProjectAccess {
	return ProjectAccess{subject: subject, project: project}
}

// Subject is the caller the access was granted to.
func (a ProjectAccess) Subject() Subject { return a.subject }

// Project is the project the access is for.
func (a ProjectAccess) Project() ProjectID { return a.project }

// IsZero reports an access nobody granted.
func (a ProjectAccess) IsZero() bool { return a.subject.IsZero() || a.project.IsZero() }
