// Package task calls an adapter directly instead of a port.
package task

import "example.com/fixture/adapters/memory/task"

// Store is the concrete adapter.
var Store = task.Repository{}
