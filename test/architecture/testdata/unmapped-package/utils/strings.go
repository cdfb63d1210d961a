// Package utils is the "common" package nobody can place in a layer.
package utils

// Trim is a helper without a home.
func Trim(s string) string { return s }
