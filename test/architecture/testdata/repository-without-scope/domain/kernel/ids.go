// Package kernel holds the scope types.
package kernel

// ProjectID identifies a project.
type ProjectID struct{ v string }

// Subject is the caller.
type Subject struct{ v string }
