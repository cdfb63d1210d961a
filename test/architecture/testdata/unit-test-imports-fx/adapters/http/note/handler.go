// Package note serves notes.
package note

// Handler serves notes.
type Handler struct{}
