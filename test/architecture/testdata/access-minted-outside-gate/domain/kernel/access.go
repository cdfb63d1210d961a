// Package kernel holds the scope types.
package kernel

// ProjectID identifies a project.
type ProjectID struct{ v string }

// Subject is the caller.
type Subject struct{ v string }

// ProjectAccess is the capability the gate grants.
type ProjectAccess struct {
	subject Subject
	project ProjectID
}

// GrantProjectAccess is reserved to the gate.
func GrantProjectAccess(s Subject, p ProjectID) ProjectAccess {
	return ProjectAccess{subject: s, project: p}
}
