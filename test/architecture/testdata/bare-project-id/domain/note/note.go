// Package note is the note aggregate.
package note

// Note is a note.
type Note struct{}

// ID identifies a note.
type ID struct{ v string }
