// Package kernel is the shared kernel; it must depend on no context.
package kernel

import _ "example.com/fixture/domain/task"
