// Package note serves notes over HTTP and wires itself with fx.
package note

import "go.uber.org/fx"

// Module is fx outside bootstrap.
var Module = fx.Options()
