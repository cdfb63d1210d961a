// Package note stores notes.
package note

// Repository stores notes.
type Repository struct{}
