// Package note is the note aggregate; it imports another context's domain.
package note

import "example.com/fixture/domain/task"

// Note holds a task of another context.
type Note struct{ Task task.Task }
