// Package note declares a port in terms of the HTTP framework.
package note

import "github.com/gin-gonic/gin"

// Handler is a port that speaks gin instead of domain types.
type Handler interface {
	Serve(c *gin.Context)
}
