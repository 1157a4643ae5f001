package apitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/api"
	"github.com/tailorhq/tailor/api/apitest"
)

// doc is a small document in the shape of Tailor's: one operation with a
// closed set of statuses, a shared Problem response, a text response.
const doc = `{
  "openapi": "3.1.0",
  "paths": {
    "/things": {
      "post": {
        "responses": {
          "200": {
            "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestID"}, "X-Count": {"required": true, "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
          },
          "400": {"$ref": "#/components/responses/Problem"},
          "204": {"description": "Nothing."}
        }
      }
    },
    "/text": {"get": {"responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}}}}
  },
  "components": {
    "headers": {"RequestID": {"required": true, "schema": {"type": "string"}}},
    "responses": {
      "Problem": {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "Thing": {
        "type": "object", "additionalProperties": false, "required": ["request_id", "n"],
        "properties": {"request_id": {"type": "string"}, "n": {"type": "integer", "minimum": 0}, "tags": {"type": ["array", "null"], "items": {"type": "string"}}}
      },
      "Problem": {
        "type": "object", "additionalProperties": false, "required": ["status", "request_id"],
        "properties": {"status": {"type": "integer"}, "request_id": {"type": "string"}}
      }
    }
  }
}`

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestCheck(t *testing.T) {
	d := apitest.MustParse(t, []byte(doc))
	ok := header("X-Request-ID", "r1", "X-Count", "1", "Content-Type", "application/json; charset=utf-8")
	problem := header("X-Request-ID", "r1", "Content-Type", "application/problem+json")
	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         string
		want         []string // each in the error, in this order of lines; none for a pass
	}{
		{"good", "POST", "/things", 200, ok, `{"request_id":"r1","n":3,"tags":null}`, nil},
		{"query ignored", "POST", "/things?x=1", 200, ok, `{"request_id":"r1","n":3}`, nil},
		{"problem", "POST", "/things", 400, problem, `{"status":400,"request_id":"r1"}`, nil},
		{"no body", "POST", "/things", 204, header("X-Request-ID", "r1"), ``, nil},
		{"text", "GET", "/text", 200, header("X-Request-ID", "r1", "Content-Type", "text/plain; version=0.0.4"), "not JSON\n", nil},
		{"undocumented path answers a problem", "GET", "/nowhere", 404, header("X-Request-ID", "r1", "Content-Type", "application/problem+json"), `{"status":404,"request_id":"r1"}`, nil},

		{"no request id", "POST", "/things", 200, header("X-Count", "1", "Content-Type", "application/json"), `{"request_id":"r1","n":3}`,
			[]string{"no X-Request-ID header"}},
		{"required header", "POST", "/things", 200, header("X-Request-ID", "r1", "Content-Type", "application/json"), `{"request_id":"r1","n":3}`,
			[]string{"no X-Count header"}},
		{"undocumented status", "POST", "/things", 404, problem, `{"status":404,"request_id":"r1"}`,
			[]string{"status 404 is not documented"}},
		{"media type", "POST", "/things", 400, header("X-Request-ID", "r1", "Content-Type", "application/json"), `{"status":400,"request_id":"r1"}`,
			[]string{`media type "application/json" is not documented`}},
		{"no content type", "POST", "/things", 200, header("X-Request-ID", "r1", "X-Count", "1"), `{"request_id":"r1","n":3}`,
			[]string{"content type"}},
		{"not JSON", "POST", "/things", 200, ok, `{"n":`, []string{"body is not JSON"}},
		{"trailing data", "POST", "/things", 200, ok, `{"request_id":"r1","n":3} {}`, []string{"body is not JSON"}},
		{"every violation", "POST", "/things", 200, ok, `{"n":-1.5,"x":true,"tags":[1]}`,
			[]string{`missing required "request_id"`, `$.n: -1.5 violates minimum 0`, `$.n: -1.5 is not of type integer`, `property "x" is not allowed`, `$.tags[0]: 1 is not of type`}},
		{"request id differs", "POST", "/things", 200, ok, `{"request_id":"r2","n":3}`, []string{`body request_id "r2", X-Request-ID header "r1"`}},
		{"problem status differs", "POST", "/things", 400, problem, `{"status":500,"request_id":"r1"}`, []string{"problem status 500, response status 400"}},
		{"problem of an undocumented path", "GET", "/nowhere", 404, ok, `{"request_id":"r1","n":3}`, []string{`media type "application/json" is not documented`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.Check(tc.method, tc.path, tc.status, tc.header, []byte(tc.body))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("rejected a good response: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if lines := strings.Count(err.Error(), "\n") + 1; lines < len(tc.want) {
				t.Errorf("%d problems reported, want %d:\n%v", lines, len(tc.want), err)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ from, to, want string }{
		"keyword in a component":   {`"minimum": 0}`, `"minimum": 0, "exclusiveMaximum": 9}`, `"exclusiveMaximum"`},
		"keyword inline":           {`"text/plain": {"schema": {"type": "string"}}`, `"text/plain": {"schema": {"type": "string", "pattern": "x"}}`, `"pattern"`},
		"keyword in a header":      {`"X-Count": {"required": true, "schema": {"type": "string"}}`, `"X-Count": {"required": true, "schema": {"type": "string", "format": "int"}}`, `"format"`},
		"dangling ref":             {`"#/components/schemas/Thing"`, `"#/components/schemas/Thingy"`, `no "Thingy"`},
		"type name":                {`"type": "integer"}`, `"type": "int"}`, `type "int"`},
		"malformed required":       {`"required": ["status", "request_id"]`, `"required": "status"`, "required is not an array"},
		"not 3.1":                  {`"3.1.0"`, `"3.0.3"`, "3.0.3"},
		"schema that is no object": {`"schema": {"type": "string"}}}}}}`, `"schema": true}}}}}`, "must be an object"},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(doc, tc.from) {
				t.Fatalf("the test document lacks %s", tc.from)
			}
			_, err := apitest.Parse([]byte(strings.Replace(doc, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v; want an error mentioning %s", err, tc.want)
			}
		})
	}
	if _, err := apitest.Parse([]byte(`[]`)); err == nil {
		t.Error("accepted a document that is not an object")
	}
	// Examples are data: keywords in them are not schema keywords.
	withExample := strings.Replace(doc, `"description": "Nothing."`, `"description": "Nothing.", "content": {"application/json": {"examples": {"a": {"value": {"schema": {"pattern": 1}}}}}}`, 1)
	if _, err := apitest.Parse([]byte(withExample)); err != nil {
		t.Errorf("an example was taken for a schema: %v", err)
	}
}

func TestValidate(t *testing.T) {
	d := apitest.MustParse(t, []byte(doc))
	for body, good := range map[string]bool{
		`{"request_id":"r","n":0}`:              true,
		`{"request_id":"r","n":1e2}`:            true, // 100: an integer
		`{"request_id":"r","n":1e999}`:          false,
		`{"request_id":"r","n":"1"}`:            false,
		`{"request_id":"r","n":1,"tags":["a"]}`: true,
		`{"request_id":"r","n":1,"tags":{}}`:    false,
	} {
		v, err := apitest.ParseJSON([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate("#/components/schemas/Thing", v); (err == nil) != good {
			t.Errorf("%s: Validate = %v, want good=%v", body, err, good)
		}
	}
	if err := d.Validate("#/components/schemas/None", map[string]any{}); err == nil {
		t.Error("a dangling reference validated")
	}
}

func TestValidateArrayBounds(t *testing.T) {
	d := apitest.MustParse(t, []byte(strings.Replace(doc, `"tags": {"type": ["array", "null"], "items": {"type": "string"}}`,
		`"tags": {"type": ["array", "null"], "items": {}, "minItems": 1, "maxItems": 3, "uniqueItems": true}`, 1)))
	checkTags(t, d, map[string]string{
		`null`:                    "",
		`["a"]`:                   "",
		`["a","b","c"]`:           "",
		`[1,"1",[1],{"a":1}]`:     "4 items violate maxItems 3",
		`[]`:                      "0 items violate minItems 1",
		`["a","b","a"]`:           `items 0 and 2 are equal ("a")`,
		`[1,1.0]`:                 "items 0 and 1 are equal",
		`[[1,"x"],[1.0,"x"]]`:     "items 0 and 1 are equal",
		`[{"a":1},{"a":1e0}]`:     "items 0 and 1 are equal",
		`[{"a":1},{"a":2}]`:       "",
		`[[1],[1,1]]`:             "",
		`[{"a":1},{"a":1,"b":1}]`: "",
		`[true,"true"]`:           "",
	})
	for _, bad := range []string{`"maxItems": -1`, `"maxItems": 1.5`, `"minItems": "1"`, `"uniqueItems": 1`} {
		_, err := apitest.Parse([]byte(strings.Replace(doc, `"items": {"type": "string"}`, `"items": {"type": "string"}, `+bad, 1)))
		if err == nil {
			t.Errorf("Parse accepted %s", bad)
		}
	}
}

// recordingTB collects what CheckT reports.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheckT(t *testing.T) {
	d := apitest.MustParse(t, []byte(doc))
	rec := &recordingTB{TB: t}
	d.CheckT(rec, "POST", "/things", 200, header("X-Request-ID", "r1", "X-Count", "1", "Content-Type", "application/json"), []byte(`{"request_id":"r1","n":1}`))
	if len(rec.errors) != 0 {
		t.Fatalf("good response reported: %v", rec.errors)
	}
	d.CheckT(rec, "POST", "/things", 200, header("Content-Type", "application/json"), []byte(`{}`))
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "X-Request-ID") || !strings.Contains(rec.errors[0], `missing required "n"`) {
		t.Errorf("CheckT reported %q; want one report with every problem", rec.errors)
	}
}

// A path with parameters is held against its template's operation; a path
// that fits no template gets the shared Problem response.
func TestCheckTemplatedPath(t *testing.T) {
	d := apitest.MustParse(t, []byte(strings.Replace(doc, `"/text":`,
		`"/things/{id}/parts": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}},
    "/things/special/parts": {"get": {"responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/text":`, 1)))
	if ops := d.Operations(); !slices.Contains(ops, "GET /things/{id}/parts") {
		t.Fatalf("operations %v", ops)
	}
	h := header("X-Request-ID", "r1", "Content-Type", "application/json")
	if err := d.Check("GET", "/things/42/parts?k=3", 200, h, []byte(`{"request_id":"r1","n":1}`)); err != nil {
		t.Errorf("templated path: %v", err)
	}
	if err := d.Check("GET", "/things/42/parts", 200, h, []byte(`{"request_id":"r1"}`)); err == nil || !strings.Contains(err.Error(), `missing required "n"`) {
		t.Errorf("templated path, bad body: %v", err)
	}
	// A literal path wins over the template.
	if err := d.Check("GET", "/things/special/parts", 200, header("X-Request-ID", "r1", "Content-Type", "text/plain"), []byte("x")); err != nil {
		t.Errorf("literal path: %v", err)
	}
	// An empty parameter, or another depth, is no match.
	for _, p := range []string{"/things//parts", "/things/42/parts/more"} {
		if err := d.Check("GET", p, 200, h, []byte(`{"request_id":"r1","n":1}`)); err == nil {
			t.Errorf("%s matched a template", p)
		}
	}
}

// The real document parses, and the api package's answers without any
// dependency (no recommender, readiness, models or telemetry) match it.
func TestRealDocument(t *testing.T) {
	if apitest.HeaderRequestID != api.HeaderRequestID {
		t.Fatalf("apitest.HeaderRequestID %q, api.HeaderRequestID %q", apitest.HeaderRequestID, api.HeaderRequestID)
	}
	d := apitest.MustParse(t, api.OpenAPIDocument())
	if d.Version() != "3.1.0" || !slices.Contains(d.Operations(), "POST /v1/recommendations") {
		t.Fatalf("version %q, operations %v", d.Version(), d.Operations())
	}
	srv := httptest.NewServer(api.New(api.Config{}, api.Deps{}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
		{"GET", "/v1/models", "", 200},
		{"GET", "/openapi.json", "", 200},
		{"GET", "/metrics", "", 404},
		{"GET", "/nowhere", "", 404},
		{"DELETE", "/healthz", "", 405},
		{"POST", "/v1/recommendations", `{"k":5}`, 503},
		{"POST", "/v1/recommendations", `{"k":0,"mode":"fast"}`, 400},
		{"POST", "/v1/rank", `{"items":["22423"]}`, 503},
		{"POST", "/v1/rank", `{"items":[]}`, 400},
		{"GET", "/v1/items/85123A/similar", "", 503},
		{"GET", "/v1/items/85123A/similar?k=0", "", 400},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.status, body)
		}
		d.CheckT(t, tc.method, tc.path, resp.StatusCode, resp.Header, body)
	}
}

func TestValidateStringLength(t *testing.T) {
	d := apitest.MustParse(t, []byte(strings.Replace(doc, `"tags": {"type": ["array", "null"], "items": {"type": "string"}}`,
		`"tags": {"type": ["array", "null"], "items": {"type": "string", "minLength": 1, "maxLength": 3}}`, 1)))
	checkTags(t, d, map[string]string{
		`["a","abc"]`: "",
		`["é€😀"]`:     "", // three characters, nine bytes
		`[""]`:        "a string of 0 characters violates minLength 1",
		`["abcd"]`:    "a string of 4 characters violates maxLength 3",
	})
	for _, bad := range []string{`"minLength": -1`, `"maxLength": 1.5`, `"minLength": "1"`} {
		if _, err := apitest.Parse([]byte(strings.Replace(doc, `"items": {"type": "string"}`, `"items": {"type": "string"}, `+bad, 1))); err == nil {
			t.Errorf("Parse accepted %s", bad)
		}
	}
}

// checkTags validates a Thing with each tags value: "" wants it valid, any
// other want an error that mentions it.
func checkTags(t *testing.T, d *apitest.Document, cases map[string]string) {
	t.Helper()
	for tags, want := range cases {
		v, err := apitest.ParseJSON([]byte(`{"request_id":"r","n":1,"tags":` + tags + `}`))
		if err != nil {
			t.Fatal(err)
		}
		err = d.Validate("#/components/schemas/Thing", v)
		switch {
		case want == "" && err != nil:
			t.Errorf("tags %s: %v", tags, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("tags %s: Validate = %v, want an error mentioning %q", tags, err, want)
		}
	}
}
