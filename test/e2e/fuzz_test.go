package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scoped-api/foundation/test/testkit"
)

// FuzzCreateProject throws arbitrary bodies and content types at request
// decoding and validation. Whatever comes in, the answer is never a 5xx,
// every error is a problem document, and a body is accepted exactly when it
// is a JSON object whose only fields are a valid name and description.
// The seeds are the bad-input cases of the end-to-end tests; `go test` runs
// them, `go test -fuzz FuzzCreateProject ./test/e2e` explores further.
func FuzzCreateProject(f *testing.F) {
	seeds := []string{
		`{"name":"ok"}`, `{"name":"  padded  ","description":"d"}`, `{"name":`, `["x"]`, `null`, ``, `{"name":42}`,
		`{"name":"x","owner":"bob"}`, `{"description":"x"}`, `{"name":""}`, `{"name":"   "}`,
		`{"name":"` + strings.Repeat("n", 201) + `"}`, `{"name":"` + strings.Repeat("é", 200) + `"}`,
		`{"name":"x","description":"` + strings.Repeat("d", 2001) + `"}`, `{"name":"\ud800"}`, `{"name":"a\u0000b"}`, `{"name":"\u200b"}`, `{"name":"a","description":"l1\nl2\tx"}`, `{"name":"\u0085x"}`,
		`{"name":"x","name":"y"}`, `{"name":true}`, `{"name":{"a":1}}`, `{"name":"x"} trailing`, "{\"name\":\"\xff\"}",
	}
	for _, s := range seeds {
		f.Add(s, "application/json")
	}
	f.Add(`{"name":"x"}`, "text/plain")
	f.Add(`{"name":"cased"}`, "AppliCAtion/JSON")
	f.Add(`{"nAme":"x"}`, "application/json")
	f.Add(`{"name":"x"}`, "application/problem+json")
	f.Add(`{"name":"x"}`, "application/json; charset=utf-8")
	f.Add(`name=x`, "application/x-www-form-urlencoded")

	// One app per fuzzing process, on SQLite so that a fuzz worker needs no server.
	env := testkit.BaseEnv("sqlite://" + f.TempDir() + "/fuzz.db")
	env["LOG_LEVEL"] = "error"
	app := testkit.StartApp(f, env)
	token := testkit.Token(f, "fuzzer", 24*time.Hour)

	f.Fuzz(func(t *testing.T, body, contentType string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, app.URL+"/api/v1/projects", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if strings.ContainsAny(contentType, "\r\n\x00") {
			contentType = "" // not a header value a client can send
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return // the client refused to send it (e.g. an invalid header value)
		}
		defer func() { _ = res.Body.Close() }()
		var got map[string]any
		_ = json.NewDecoder(res.Body).Decode(&got)

		if res.StatusCode >= 500 {
			t.Fatalf("body %q (%s): %d %v", body, contentType, res.StatusCode, got)
		}
		if res.StatusCode >= 400 {
			if res.Header.Get("Content-Type") != "application/problem+json" || got["status"] != float64(res.StatusCode) {
				t.Fatalf("body %q: %d is not a problem document: %v", body, res.StatusCode, got)
			}
		}
		accepted := res.StatusCode == http.StatusCreated || res.StatusCode == http.StatusConflict
		if want := acceptable(body) && isJSON(contentType); accepted != want {
			t.Fatalf("body %q (%s): status %d, want acceptance=%v: %v", body, contentType, res.StatusCode, want, got)
		}
		if res.StatusCode == http.StatusCreated {
			var in struct{ Name string }
			_ = json.Unmarshal([]byte(body), &in)
			if got["name"] != strings.TrimSpace(in.Name) {
				t.Fatalf("stored name %q for input %q", got["name"], in.Name)
			}
		}
	})
}

func isJSON(ct string) bool {
	ct = strings.TrimSpace(ct) // as the HTTP client sends it
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// acceptable is the oracle: an object with a string name that is 1–200
// characters once trimmed, an optional string description of at most 2000
// characters, and nothing else.
func acceptable(body string) bool {
	dec := json.NewDecoder(strings.NewReader(body))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return false
	}
	if _, err := dec.Token(); err != io.EOF { // trailing data after the object
		return false
	}
	if !json.Valid([]byte(body)) {
		return false
	}
	var name, desc string
	for k, v := range m {
		switch k {
		case "name":
			if json.Unmarshal(v, &name) != nil {
				return false
			}
		case "description":
			if string(v) != "null" && json.Unmarshal(v, &desc) != nil {
				return false
			}
		default:
			return false
		}
	}
	if _, ok := m["name"]; !ok {
		return false
	}
	n := utf8.RuneCountInString(strings.TrimSpace(name))
	return n >= 1 && n <= 200 && utf8.RuneCountInString(desc) <= 2000 &&
		clean(strings.TrimSpace(name), false) && clean(desc, true) && strings.IndexFunc(name, shows) >= 0
}

// clean refuses what no text field may hold: control characters (tab and
// line breaks allowed in multiline text) and U+FFFD, which is what a JSON
// decoder makes of invalid UTF-8 and unpaired surrogates.
func clean(s string, multiline bool) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			return false
		}
		return unicode.IsControl(r) || r == utf8.RuneError
	}) < 0
}

// shows reports a character that is seen: not a space, not a format or
// variation character and not one of Hangul's fillers.
func shows(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Variation_Selector, r) &&
		!strings.ContainsRune("\u115f\u1160\u3164\uffa0", r)
}

// FuzzEveryRequestBody throws arbitrary bodies at every route that takes
// one (create and rename a project, create an operation, report progress,
// cancel, tickets), on SQLite: whatever comes in, the answer is below 500
// and every error is a problem document. The seeds are the broken texts
// the OpenAPI walk uses; `go test -fuzz FuzzEveryRequestBody ./test/e2e`
// explores further.
func FuzzEveryRequestBody(f *testing.F) {
	env := testkit.BaseEnv("sqlite://" + f.TempDir() + "/fuzz.db")
	env["LOG_LEVEL"] = "error"
	app := testkit.StartApp(f, env)
	token := testkit.Token(f, "fuzzer", 24*time.Hour)
	var p projectJSON
	app.Do("POST", "/api/v1/projects", token, `{"name":"fuzzed"}`).JSON(f, &p)
	res := app.Do("POST", "/api/v1/projects/"+p.ID+"/operations", token, `{"kind":"import"}`)
	var op operationJSON
	res.JSON(f, &op)
	opPath := "/api/v1/projects/" + p.ID + "/operations/" + op.ID
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/projects"},
		{"PATCH", "/api/v1/projects/" + p.ID},
		{"POST", "/api/v1/projects/" + p.ID + "/operations"},
		{"POST", opPath + "/progress"},
		{"POST", opPath + "/cancel"},
		{"POST", opPath + "/events/tickets"},
		{"POST", "/api/v1/projects/" + p.ID + "/events/tickets"},
	}
	for i := range routes {
		for _, body := range []string{
			`{"name":"a\u0000b"}`, "{\"name\":\"\xff\"}", `{"name":"\ud800"}`, `{"description":"` + strings.Repeat("d", 3000) + `"}`,
			`{"kind":"a\u0000"}`, `{"kind":"` + strings.Repeat("k", 65) + `"}`, `{"percent":1e400}`, `{"percent":-1}`, `{"percent":50,"message":"\u0000"}`,
			`{"percent":50,"status":"failed","error":"\u200b"}`, `{"percent":50,"result":{"a":[1,{"b":null}]}}`, `{"result":"` + strings.Repeat("[", 10000) + `"}`,
			`{"name":null,"description":null}`, `[]`, `null`, ``, `{`,
		} {
			f.Add(i, body)
		}
	}
	f.Fuzz(func(t *testing.T, route int, body string) {
		r := routes[(route%len(routes)+len(routes))%len(routes)]
		res := testkit.Do(t, r.method, app.URL+r.path, token, []byte(body))
		if res.Status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, res.Status, res.Body)
		}
		if res.Status >= 400 && res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s with %q: %d is not a problem document", r.method, r.path, body, res.Status)
		}
	})
}
