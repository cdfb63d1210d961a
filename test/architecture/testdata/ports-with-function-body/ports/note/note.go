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

// Reset is a method with a body on a pointer receiver.
func (f *Filter) Reset() { f.Limit = 0 }

// Page is generic; its method has a body too.
type Page[T any] struct{ Items []T }

// Len is a method of a generic type.
func (p Page[T]) Len() int { return len(p.Items) }

// Store is fine: an interface.
type Store interface{ Count() int }

// MaxLimit is fine: a constant.
const MaxLimit = 100
