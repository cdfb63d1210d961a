// Package note holds the note use cases, written against gin.
package note

import "github.com/gin-gonic/gin"

// CreateNote reads its input from a gin context.
func CreateNote(c *gin.Context) { _ = c }
