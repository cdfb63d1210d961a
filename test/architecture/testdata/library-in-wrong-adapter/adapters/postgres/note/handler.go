// Package note stores notes and serves HTTP from the storage adapter.
package note

import "github.com/gin-gonic/gin"

// Handler is gin outside adapters/http.
type Handler struct{ engine *gin.Engine }
