// Package redis publishes the events of two contexts from one package.
package redis

import (
	_ "example.com/fixture/domain/note"
	_ "example.com/fixture/domain/task"
)
