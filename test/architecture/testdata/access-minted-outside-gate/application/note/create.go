// Package note mints its own access instead of asking the gate.
package note

import "example.com/fixture/domain/kernel"

// Create acts in a project nobody let it into.
func Create(s kernel.Subject, p kernel.ProjectID) kernel.ProjectAccess {
	grant := kernel.GrantProjectAccess
	return grant(s, p)
}
