// Package note declares the note ports, and implements some of them.
package note

// Filter selects notes.
type Filter struct{ Limit int }

// DefaultLimit is a value where only declarations belong.
var DefaultLimit = 20

// NewFilter has a body: behaviour in a ports package.
func NewFilter() Filter { return Filter{Limit: DefaultLimit} }

// Valid is a method with a body.
func (f Filter) Valid() bool { return f.Limit > 0 }

// Store is fine: an interface.
type Store interface{ Count() int }

// MaxLimit is fine: a constant.
const MaxLimit = 100
