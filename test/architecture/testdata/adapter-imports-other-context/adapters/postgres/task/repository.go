// Package task stores tasks.
package task

// Repository stores tasks.
type Repository struct{}
