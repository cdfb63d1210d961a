// Package testkit is test infrastructure.
package testkit

// Clock is a fake clock.
type Clock struct{}
