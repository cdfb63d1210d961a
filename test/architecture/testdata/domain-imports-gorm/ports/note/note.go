// Package note declares the note ports.
package note

// Store is a port.
type Store interface{ Count() int }
