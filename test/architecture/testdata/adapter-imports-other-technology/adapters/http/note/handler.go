// Package note serves notes over HTTP, straight from the database adapter.
package note

import pg "example.com/fixture/adapters/postgres/note"

// Handler bypasses the use cases and the ports.
type Handler struct{ repo *pg.Repository }
