// Package project is the gate: it may mint accesses.
package project

import "example.com/fixture/domain/kernel"

// Access grants after checking (the check is elided in this fixture).
func Access(s kernel.Subject, p kernel.ProjectID) kernel.ProjectAccess {
	return kernel.GrantProjectAccess(s, p)
}
