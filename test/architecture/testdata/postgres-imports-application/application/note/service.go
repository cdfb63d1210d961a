// Package note holds the note use cases.
package note

// Service is the use cases.
type Service struct{}
