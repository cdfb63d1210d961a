// Package note is the in-memory adapter, using GORM.
package note

import "gorm.io/gorm"

// Repository holds a GORM handle it has no business with.
type Repository struct{ db *gorm.DB }
