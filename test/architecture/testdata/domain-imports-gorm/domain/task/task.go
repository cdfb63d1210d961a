// Package task reaches outward into the ports layer.
package task

import _ "example.com/fixture/ports/note"
