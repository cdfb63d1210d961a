// Package note is a domain package that knows about its storage.
package note

import "gorm.io/gorm"

// Note embeds a GORM model: storage leaking into the domain.
type Note struct {
	gorm.Model
	Name string
}
