// Package note stores notes and reaches into the task context's adapter.
package note

import "example.com/fixture/adapters/postgres/task"

// Repository shares the task repository.
type Repository struct{ tasks task.Repository }
