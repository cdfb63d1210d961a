package httpkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-gonic/gin"
)

// BearerAuth is the name of the security scheme that protected operations declare.
const BearerAuth = "bearer"

// TicketAuth is the name of the security scheme of stream routes that
// also accept a single-use stream ticket in the query (browsers'
// EventSource cannot send an Authorization header).
const TicketAuth = "stream_ticket"

// PassAuth is the name of the security scheme of stream routes that also
// accept a stream pass cookie, which EventSource presents by itself on
// every reconnect.
const PassAuth = "stream_pass"

// TicketParam is the query parameter carrying a stream ticket.
const TicketParam = "ticket"

// Protected is the Security value of an operation that needs a bearer token.
var Protected = []map[string][]string{{BearerAuth: {}}}

// Public is the Security value of an operation that needs none: said
// explicitly, so that no reader takes its absence for an oversight.
var Public = []map[string][]string{}

// DeclareTag describes a tag the operations of a context use, once. Tags
// are kept sorted: contexts register in no fixed order, and the document
// must not change between two starts.
func DeclareTag(api huma.API, name, description string) {
	doc := api.OpenAPI()
	i, found := slices.BinarySearchFunc(doc.Tags, name, func(t *huma.Tag, name string) int { return strings.Compare(t.Name, name) })
	if !found {
		doc.Tags = slices.Insert(doc.Tags, i, &huma.Tag{Name: name, Description: description})
	}
}

// Routes is what a bounded context's HTTP adapter offers: it registers its
// operations on the API.
type Routes interface {
	Register(api huma.API)
}

// APIConfig describes the API document and request limits.
type APIConfig struct {
	Title        string
	Version      string
	Description  string
	Contact      string // who answers for the API
	License      string // an SPDX identifier
	MaxBodyBytes int64
}

var installErrors sync.Once

// jsonFormat is huma's JSON format whose parse errors say where in the
// body the JSON broke.
var jsonFormat = huma.Format{
	Marshal: huma.DefaultJSONFormat.Marshal,
	Unmarshal: func(data []byte, v any) error {
		err := huma.DefaultJSONFormat.Unmarshal(data, v)
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return fmt.Errorf("%w (after %d bytes of the body)", err, syntax.Offset)
		}
		return err
	},
}

// NewAPI mounts a huma API on engine: OpenAPI 3.1 at /openapi.json, JSON
// only, every error a Problem. Docs are served separately (see package docs).
func NewAPI(engine *gin.Engine, cfg APIConfig) huma.API {
	installErrors.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return newHumaError(nil, status, msg, errs...)
		}
		huma.NewErrorWithContext = newHumaError
		// Field names are a contract: "Name" is not "name".
		huma.ValidateStrictCasing = true
	})

	hc := huma.DefaultConfig(cfg.Title, cfg.Version)
	hc.Info.Description = cfg.Description
	hc.Info.Contact = &huma.Contact{Name: cfg.Contact}
	hc.Info.License = &huma.License{Name: cfg.License, Identifier: cfg.License}
	// The document does not know where it is deployed: the address is a
	// variable whose default is make run's.
	hc.Servers = []*huma.Server{{
		URL:         "{scheme}://{host}",
		Description: "Where the API is served (make run: http://127.0.0.1:8000)",
		Variables: map[string]*huma.ServerVariable{
			"scheme": {Default: "http", Enum: []string{"http", "https"}},
			"host":   {Default: "127.0.0.1:8000", Description: "host[:port] of the deployment"},
		},
	}}
	hc.DocsPath = ""     // the built-in page loads its scripts from a CDN
	hc.SchemasPath = ""  // schemas are inlined in /openapi.json
	hc.CreateHooks = nil // no $schema field in bodies, no Link header
	hc.Formats = map[string]huma.Format{
		"application/json": jsonFormat,
		"json":             jsonFormat,
	}
	hc.RejectUnknownQueryParameters = true
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		BearerAuth: {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
		TicketAuth: {Type: "apiKey", In: "query", Name: TicketParam,
			Description: "A single-use stream ticket from POST .../events/tickets, valid about a minute (SSE_TICKET_TTL): for clients that fetch a new one for each connection."},
		PassAuth: {Type: "apiKey", In: "cookie", Name: StreamPassCookie,
			Description: "A stream pass: the HttpOnly, SameSite=Strict cookie POST .../events/tickets sets, scoped by its Path to that one stream. A browser's EventSource (withCredentials: true across origins) presents it on every reconnect; each stream it opens renews it for SSE_PASS_TTL, never beyond the token it came from."},
	}
	// huma caps bodies at 1 MiB and counts a body of exactly the limit as too
	// large; the body-limit middleware enforces HTTP_MAX_BODY_BYTES, so let
	// huma accept one byte more than that.
	limit := cfg.MaxBodyBytes + 1
	hc.OnAddOperation = append(hc.OnAddOperation, func(_ *huma.OpenAPI, op *huma.Operation) {
		if op.RequestBody != nil {
			op.MaxBodyBytes = limit
		}
	})
	return humagin.New(engine, hc)
}
