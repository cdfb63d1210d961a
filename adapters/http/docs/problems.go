package docs

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
)

// problemPage explains problem types; a problem's "type" is the URI of its
// section, so a developer who follows it learns what went wrong and what to do.
var problemPage = template.Must(template.New("problems").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
<p>Every error of this API is an RFC 9457 <code>application/problem+json</code> body. Its
<code>type</code> is the address of the section below that explains it; <code>detail</code> and
<code>errors</code> say what happened to this request, <code>code</code> names the rule, and
<code>correlation_id</code> finds the request in the server's log.</p>
{{range .Types}}
<section id="{{.Slug}}">
<h2><a href="{{.URI}}">{{.Slug}}</a> ({{.Status}} {{.Text}})</h2>
<p>{{.Meaning}}</p>
<p><strong>What to do:</strong> {{.Action}}</p>
</section>
{{end}}
<p><a href="` + Prefix + `">API documentation</a> · <a href="` + httpkit.ProblemsPath + `">all problem types</a></p>
</body>
</html>
`))

type problemView struct {
	httpkit.ProblemType
	Text string
}

// registerProblems serves /problems (every type) and /problems/{slug}.
func registerProblems(engine *gin.Engine) {
	all := func(c *gin.Context) { renderProblems(c, "Problem types", httpkit.ProblemTypes) }
	one := func(c *gin.Context) {
		slug := c.Param("slug")
		for _, pt := range httpkit.ProblemTypes {
			if pt.Slug == slug {
				renderProblems(c, "Problem type "+slug, []httpkit.ProblemType{pt})
				return
			}
		}
		httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusNotFound, "no such problem type"))
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		engine.Handle(method, httpkit.ProblemsPath, all)
		engine.Handle(method, httpkit.ProblemsPath+"/:slug", one)
	}
}

func renderProblems(c *gin.Context, title string, types []httpkit.ProblemType) {
	views := make([]problemView, len(types))
	for i, pt := range types {
		views[i] = problemView{ProblemType: pt, Text: http.StatusText(pt.Status)}
	}
	var b strings.Builder
	if err := problemPage.Execute(&b, struct {
		Title string
		Types []problemView
	}{title, views}); err != nil {
		httpkit.WriteProblem(c.Writer, httpkit.NewProblem(c.Request.Context(), http.StatusInternalServerError, "problem page unavailable"))
		return
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(b.String()))
}
