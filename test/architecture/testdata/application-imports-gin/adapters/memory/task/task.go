// Package task stores tasks in memory.
package task

// Repository is the adapter.
type Repository struct{}
