// Package system ships the test clock to production.
package system

import "example.com/fixture/test/testkit"

// Clock is the fake one.
type Clock = testkit.Clock
