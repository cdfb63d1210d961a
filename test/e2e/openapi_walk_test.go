package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

type walkSchema struct {
	Ref        string                 `json:"$ref"`
	Type       any                    `json:"type"`
	Enum       []any                  `json:"enum"`
	Minimum    *float64               `json:"minimum"`
	Properties map[string]*walkSchema `json:"properties"`
	Required   []string               `json:"required"`
}

type walkOperation struct {
	Parameters []struct {
		Name   string     `json:"name"`
		In     string     `json:"in"`
		Schema walkSchema `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema walkSchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

func (s *walkSchema) is(t string) bool {
	switch v := s.Type.(type) {
	case string:
		return v == t
	case []any:
		for _, x := range v {
			if x == t {
				return true
			}
		}
	}
	return false
}

// TestEveryStringFieldOfTheDocumentRefusesBrokenText walks the OpenAPI
// document: for every route, every string field of its body and every
// string parameter gets a NUL, an invalid UTF-8 sequence and an over-long
// value, on PostgreSQL (which refuses NUL with an error of its own). No
// answer may be a 5xx, and a body field with broken text is a 4xx problem.
func TestEveryStringFieldOfTheDocumentRefusesBrokenText(t *testing.T) {
	app, _ := startOperationsApp(t)
	alice := testkit.Token(t, "alice", time.Hour)
	var doc struct {
		Paths      map[string]map[string]walkOperation `json:"paths"`
		Components struct {
			Schemas map[string]*walkSchema `json:"schemas"`
		} `json:"components"`
	}
	app.Do("GET", "/openapi.json", "", nil).JSON(t, &doc)
	resolve := func(s *walkSchema) *walkSchema {
		for s != nil && s.Ref != "" {
			s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		}
		return s
	}
	valid := func(s *walkSchema) any {
		s = resolve(s)
		switch {
		case s == nil:
			return nil
		case len(s.Enum) > 0:
			return s.Enum[0]
		case s.is("integer") || s.is("number"):
			if s.Minimum != nil {
				return *s.Minimum
			}
			return 1
		case s.is("boolean"):
			return false
		case s.is("object"):
			return map[string]any{}
		case s.is("array"):
			return []any{}
		}
		return "x"
	}
	bad := map[string]string{
		"NUL":            `"a\u0000b"`,
		"invalid UTF-8":  "\"a\xffb\"",
		"lone surrogate": `"a\ud800b"`,
		"over-long":      `"` + strings.Repeat("y", 5000) + `"`,
	}
	badNames := make([]string, 0, len(bad))
	for name := range bad {
		badNames = append(badNames, name)
	}
	sort.Strings(badNames)

	// fresh gives each case its own project and running operation, so one
	// case's effect (a cancel, a delete) cannot hide another's answer.
	n := 0
	fresh := func() *strings.Replacer {
		n++
		p := create(t, app, alice, sprintf("walk %d", n))
		op := createOperation(t, app, alice, p.ID, "import")
		return strings.NewReplacer("{project_id}", p.ID, "{operation_id}", op.ID)
	}
	send := func(t *testing.T, method, path string, body []byte, what string, wantClientError bool) {
		t.Helper()
		var b any
		if body != nil {
			b = body
		}
		res := app.Do(strings.ToUpper(method), path, alice, b)
		if res.Status >= 500 || (wantClientError && (res.Status < 400 || res.Header.Get("Content-Type") != "application/problem+json")) {
			t.Errorf("%s %s with %s: %d %s", method, path, what, res.Status, res.Body)
		}
	}
	cases := 0
	for tmpl, ops := range doc.Paths {
		for method, op := range ops {
			if method == "get" && strings.HasSuffix(tmpl, "/events") {
				continue // a stream with valid parameters does not end; its parameters are walked through /info-like routes
			}
			var body *walkSchema
			if op.RequestBody != nil {
				if c, ok := op.RequestBody.Content["application/json"]; ok {
					body = resolve(&c.Schema)
				}
			}
			base := map[string]json.RawMessage{}
			if body != nil {
				for name, prop := range body.Properties {
					if strings.HasPrefix(name, "$") {
						continue
					}
					v, _ := json.Marshal(valid(prop))
					base[name] = v
				}
				for name, prop := range body.Properties {
					if p := resolve(prop); p == nil || !p.is("string") || len(p.Enum) > 0 || strings.HasPrefix(name, "$") {
						continue
					}
					for _, what := range badNames {
						fields := map[string]json.RawMessage{}
						for k, v := range base {
							fields[k] = v
						}
						raw, _ := json.Marshal(fields)
						// splice the raw value in by hand: json.Marshal would repair invalid UTF-8
						raw = []byte(strings.Replace(string(raw), `"`+name+`":`+string(base[name]), `"`+name+`":`+bad[what], 1))
						send(t, method, fresh().Replace(tmpl), raw, what+" in "+name, true)
						cases++
					}
				}
			}
			for _, param := range op.Parameters {
				if (param.In != "path" && param.In != "query") || !resolve(&param.Schema).is("string") {
					continue
				}
				for _, v := range []string{"a\x00b", "a\xffb", strings.Repeat("y", 5000)} {
					r := fresh()
					path := r.Replace(tmpl)
					if param.In == "path" {
						path = strings.Replace(tmpl, "{"+param.Name+"}", url.PathEscape(v), 1)
						path = r.Replace(path)
					} else {
						path += "?" + url.Values{param.Name: {v}}.Encode()
					}
					var raw []byte
					if body != nil {
						raw, _ = json.Marshal(base)
					}
					send(t, method, path, raw, "bad "+param.Name, false)
					cases++
				}
			}
		}
	}
	t.Logf("walked %d cases", cases)
	if cases < 40 {
		t.Fatalf("only %d cases walked: is the document still read right?", cases)
	}
	if res := app.Do("GET", "/api/v1/projects/"+url.PathEscape("a\x00b")+"/events", alice, nil); res.Status != http.StatusNotFound && res.Status != http.StatusUnprocessableEntity && res.Status != http.StatusBadRequest {
		t.Errorf("stream with a NUL project id: %d %s", res.Status, res.Body)
	}
}
