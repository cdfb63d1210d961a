// Package sdk serves the browser client that follows event streams with
// the native EventSource and the stream pass cookie: one small ES module,
// embedded in the binary, at the path its documentation imports it from.
package sdk

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// ProgressPath is where the module is served.
const ProgressPath = "/sdk/progress.js"

//go:embed assets/progress.js
var progressJS []byte

// Register mounts the module.
func Register(engine *gin.Engine) {
	serve := func(c *gin.Context) {
		// Revalidated on every load, so a page never runs a module older
		// than the API it talks to.
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", progressJS)
	}
	engine.GET(ProgressPath, serve)
	engine.HEAD(ProgressPath, serve)
}
