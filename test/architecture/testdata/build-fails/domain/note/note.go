// Package note does not compile: a checker that passes code which does not
// build is worthless.
package note

// Name is declared as a number but given a string.
var Name int = "note"
