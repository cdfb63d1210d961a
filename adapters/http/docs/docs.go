// Package docs serves interactive API documentation (Swagger UI) whose
// assets are embedded in the binary, so /docs works with no internet access.
package docs

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// Prefix is where the documentation lives.
const Prefix = "/docs"

//go:embed assets
var assets embed.FS

// files maps each served name to the file system holding it. Only the
// Swagger UI files the page loads are embedded (assets/swagger-ui, copied
// from npm's swagger-ui-dist by make swagger-ui), not the distribution's
// source maps and other bundles.
var files = func() map[string]fs.FS {
	own, _ := fs.Sub(assets, "assets")
	swaggerUI, _ := fs.Sub(assets, "assets/swagger-ui")
	return map[string]fs.FS{
		"index.html":           own,
		"init.js":              own,
		"swagger-ui.css":       swaggerUI,
		"swagger-ui-bundle.js": swaggerUI,
		"favicon-32x32.png":    swaggerUI,
	}
}()

// Register mounts the page and its assets, the problem types' pages, and
// a redirect from / to the documentation.
func Register(engine *gin.Engine) {
	engine.GET(Prefix, func(c *gin.Context) { serve(c, "index.html") })
	engine.GET(Prefix+"/:file", func(c *gin.Context) { serve(c, c.Param("file")) })
	toDocs := func(c *gin.Context) { c.Redirect(http.StatusFound, Prefix) }
	engine.GET("/", toDocs)
	engine.HEAD("/", toDocs)
	registerProblems(engine)
}

func serve(c *gin.Context, name string) {
	fsys, ok := files[name]
	if !ok {
		httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusNotFound, "no such documentation file"))
		return
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusInternalServerError, "documentation asset missing"))
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Data(http.StatusOK, ct, data)
}
