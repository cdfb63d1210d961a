package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

type paramSchema struct {
	Type      string   `json:"type"`
	Format    string   `json:"format"`
	Enum      []string `json:"enum"`
	Minimum   *float64 `json:"minimum"`
	Maximum   *float64 `json:"maximum"`
	MinLength *int     `json:"minLength"`
	MaxLength *int     `json:"maxLength"`
	Pattern   string   `json:"pattern"`
}

type docParam struct {
	In     string      `json:"in"`
	Name   string      `json:"name"`
	Schema paramSchema `json:"schema"`
}

type docOperation struct {
	OperationID string     `json:"operationId"`
	Parameters  []docParam `json:"parameters"`
}

// paramValue is one value derived from a parameter's schema.
type paramValue struct {
	value string
	valid bool
	why   string
}

// derive returns values the schema allows and values it forbids; a
// parameter it does not constrain (a ticket, a cursor, If-Match) yields none.
func derive(s paramSchema) []paramValue {
	var out []paramValue
	if s.Format == "uuid" {
		out = append(out, paramValue{"not-a-uuid", false, "not a uuid"}, paramValue{"0190a000-0000-7000-8000-0000000000zz", false, "not hex"})
	}
	for _, e := range s.Enum {
		out = append(out, paramValue{e, true, "enum value " + e})
	}
	if len(s.Enum) > 0 {
		out = append(out, paramValue{"bogus", false, "outside the enum"}, paramValue{strings.ToUpper(s.Enum[0]), false, "an enum value in upper case"})
	}
	if s.Type == "integer" {
		out = append(out, paramValue{"ten", false, "not an integer"}, paramValue{"1.5", false, "not an integer"})
		if s.Minimum != nil {
			lo := int(*s.Minimum)
			out = append(out, paramValue{strconv.Itoa(lo), true, "the minimum"}, paramValue{strconv.Itoa(lo - 1), false, "below the minimum"})
		}
		if s.Maximum != nil {
			hi := int(*s.Maximum)
			out = append(out, paramValue{strconv.Itoa(hi), true, "the maximum"}, paramValue{strconv.Itoa(hi + 1), false, "above the maximum"})
		}
	}
	if s.Pattern != "" {
		re := regexp.MustCompile(s.Pattern)
		for _, v := range []string{"0", "1", "42", "ok-key_1", "999999999999999999", "1234567890123456789", "-1", "abc", "1 2", "é"} {
			if s.MaxLength != nil && len(v) > *s.MaxLength {
				continue
			}
			out = append(out, paramValue{v, re.MatchString(v), "against " + s.Pattern})
		}
	}
	if s.MaxLength != nil && s.Type == "string" && s.Pattern != "" {
		// A value of the pattern's first character class at the limit, then past it.
		base := "k"
		if regexp.MustCompile(s.Pattern).MatchString("1") && !regexp.MustCompile(s.Pattern).MatchString("k") {
			base = "1"
		}
		out = append(out, paramValue{strings.Repeat(base, *s.MaxLength), true, "maxLength"},
			paramValue{strings.Repeat(base, *s.MaxLength+1), false, "past maxLength"})
	}
	return out
}

// TestTheServerAgreesWithTheSchemasParameters derives, for every route of
// the document, values of each path, query and header parameter from its
// schema (format, enum, minimum/maximum, pattern, maxLength), and sends
// each in an otherwise valid request: a value the schema allows is never
// answered as invalid (400/422), one it forbids is a 4xx problem, and an
// undeclared query parameter is refused. No answer is a 5xx.
func TestTheServerAgreesWithTheSchemasParameters(t *testing.T) {
	app, _ := startOperationsApp(t, "RATE_LIMIT_ENABLED", "false")
	var doc struct {
		Paths map[string]map[string]docOperation `json:"paths"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)

	// Each request has a caller of its own, with fresh resources: some
	// routes delete or finish them, and an Idempotency-Key is the caller's.
	n := 0
	fresh := func() (subject, token, project, op string) {
		n++
		subject = fmt.Sprintf("params-%d", n)
		token = testkit.Token(t, subject, time.Hour)
		p := create(t, app, token, "params")
		return subject, token, p.ID, createOperation(t, app, token, p.ID, "import").ID
	}
	bodies := map[string]any{
		"create-project":            map[string]any{"name": "x"},
		"update-project":            map[string]any{"description": "d"},
		"create-operation":          map[string]any{"kind": "import"},
		"report-operation-progress": map[string]any{"percent": 5},
		"add-member":                map[string]any{"subject": "someone", "role": "viewer"},
		"change-member":             map[string]any{"role": "viewer"},
		"create-key":                map[string]any{"name": "k", "permissions": []string{"operations:read"}},
	}
	const missingKey = "01936b2a-0000-7000-8000-0000000000ee" // a key id no project has: 404
	routes, cases := 0, 0
	for path, methods := range doc.Paths {
		for method, op := range methods {
			method = strings.ToUpper(method)
			if method != http.MethodGet && method != http.MethodPost && method != http.MethodPatch && method != http.MethodDelete {
				continue
			}
			routes++
			send := func(param docParam, value string) (int, string) {
				t.Helper()
				subject, token, project, operation := fresh()
				target := strings.NewReplacer("{project_id}", project, "{operation_id}", operation, "{subject}", "nobody", "{key_id}", missingKey).Replace(path)
				query := url.Values{}
				headers := http.Header{}
				switch param.In {
				case "path":
					ids := map[string]string{"project_id": project, "operation_id": operation, "subject": "nobody", "key_id": missingKey}
					ids[param.Name] = url.PathEscape(value)
					target = strings.NewReplacer("{project_id}", ids["project_id"], "{operation_id}", ids["operation_id"], "{subject}", ids["subject"], "{key_id}", ids["key_id"]).Replace(path)
				case "query":
					query.Set(param.Name, value)
				case "header":
					headers.Set(param.Name, value)
				}
				if enc := query.Encode(); enc != "" {
					target += "?" + enc
				}
				body := bodies[op.OperationID]
				if op.OperationID == "transfer-project" {
					body = map[string]any{"subject": subject} // to oneself: 409, the one transfer a lone owner can ask for
				}
				return rawRequest(t, method, app.URL+target, token, body, headers)
			}
			for _, param := range op.Parameters {
				for _, v := range derive(param.Schema) {
					cases++
					status, body := send(param, v.value)
					what := fmt.Sprintf("%s %s with %s %s=%q (%s)", method, path, param.In, param.Name, v.value, v.why)
					switch {
					case status >= 500:
						t.Errorf("%s: %d %s", what, status, body)
					case v.valid && (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity):
						t.Errorf("%s: the schema allows it, the server answered %d %s", what, status, body)
					case !v.valid && (status < 400 || !strings.Contains(body, `"status":`+strconv.Itoa(status))):
						t.Errorf("%s: the schema forbids it, the server answered %d %s", what, status, body)
					}
				}
			}
			cases++
			status, body := send(docParam{In: "query", Name: "undeclared"}, "1")
			if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
				t.Errorf("%s %s with an undeclared query parameter: %d %s", method, path, status, body)
			}
		}
	}
	if routes < 15 || cases < 100 {
		t.Fatalf("%d routes, %d requests: the document lost its routes or their constraints", routes, cases)
	}
	t.Logf("%d requests over %d routes", cases, routes)
}

// rawRequest sends one request and reads its body, but for a stream that
// opened, which would not end on its own: its head is the answer.
func rawRequest(t *testing.T, method, target, token string, body any, headers http.Header) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	req.Header = headers
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer func() { _ = res.Body.Close() }()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return res.StatusCode, ""
	}
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, target, err)
	}
	return res.StatusCode, string(data)
}
