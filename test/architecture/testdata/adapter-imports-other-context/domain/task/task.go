// Package task is the task aggregate.
package task

// Task is a task.
type Task struct{}
