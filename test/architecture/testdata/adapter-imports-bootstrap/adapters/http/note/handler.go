// Package note reads the composition root's configuration.
package note

import "example.com/fixture/bootstrap"

// Handler depends on bootstrap: the arrow points the wrong way.
type Handler struct{ cfg bootstrap.Config }
