// Package apitest holds HTTP responses against Tailor's OpenAPI document, so
// that any test, in the api package or one running the real server, can
// prove that what it received is what the document promises.
//
// It validates the subset of JSON Schema the document uses: type (one or a
// list), required, properties, additionalProperties (false or a schema),
// enum, minimum, maximum, items, minItems, maxItems, uniqueItems and $ref to
// "#/...", plus the annotations
// description, default, examples, title and summary. Any other keyword makes
// Parse fail, so the document cannot drift out of what is checked. Numbers
// must fit a float64 (RFC 8259 §6), as for the api package's decoder.
//
// The package does not import package api (whose own tests use it), so it
// takes the document as bytes:
//
//	doc, err := apitest.Parse(api.OpenAPIDocument())
package apitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// HeaderRequestID is the header every response must carry; it equals
// api.HeaderRequestID (apitest's own test holds them equal).
const HeaderRequestID = "X-Request-ID"

// Document is a parsed OpenAPI document. It is read-only after Parse and
// safe for concurrent use.
type Document struct{ root map[string]any }

// keywords are the schema keywords the validator checks; annotations are
// the ones it allows and ignores.
var (
	keywords    = []string{"$ref", "type", "enum", "minimum", "maximum", "required", "properties", "additionalProperties", "items", "minItems", "maxItems", "uniqueItems"}
	annotations = []string{"description", "default", "examples", "title", "summary"}
	typeNames   = []string{"null", "boolean", "string", "number", "integer", "array", "object"}
)

// Parse reads an OpenAPI 3.1 document and checks that every schema in it
// (under components/schemas and wherever an operation, parameter, header
// or media type names one) is well formed and within the validated subset,
// and that every $ref resolves.
func Parse(doc []byte) (*Document, error) {
	v, err := ParseJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("openapi document: not a JSON object")
	}
	d := &Document{root: root}
	if !strings.HasPrefix(d.Version(), "3.1.") {
		return nil, fmt.Errorf("openapi document: version %q, want 3.1.x", d.Version())
	}
	if _, ok := root["paths"].(map[string]any); !ok {
		return nil, errors.New("openapi document: no paths object")
	}
	var errs []string
	for key, v := range root {
		if key != "components" {
			d.findSchemas(v, "#/"+escape(key), &errs)
		}
	}
	if comp, ok := root["components"].(map[string]any); ok {
		for key, v := range comp {
			if key != "schemas" {
				d.findSchemas(v, "#/components/"+escape(key), &errs)
				continue
			}
			schemas, ok := v.(map[string]any)
			if !ok {
				errs = append(errs, "#/components/schemas: not an object")
				continue
			}
			for name, s := range schemas {
				d.checkSchema(s, "#/components/schemas/"+escape(name), &errs)
			}
		}
	}
	if len(errs) > 0 {
		return nil, join(errs)
	}
	return d, nil
}

// MustParse is Parse for tests: it stops the test when the document is
// unusable.
func MustParse(t testing.TB, doc []byte) *Document {
	t.Helper()
	d, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Version is the document's openapi field.
func (d *Document) Version() string {
	v, _ := d.root["openapi"].(string)
	return v
}

// Operations lists every documented operation as "METHOD /path", sorted.
func (d *Document) Operations() []string {
	var out []string
	for p, item := range d.root["paths"].(map[string]any) {
		ops, _ := item.(map[string]any)
		for m := range ops {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ParseJSON decodes one JSON value keeping numbers as json.Number, so that
// integers are judged exactly; trailing data is an error.
func ParseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// Validate holds a value, as ParseJSON returns it, against the schema at a
// local reference such as "#/components/schemas/Item". The error joins
// every violation, each naming its JSON path ($ for the value itself).
func (d *Document) Validate(ref string, v any) error {
	return join(d.validate(map[string]any{"$ref": ref}, v, "$"))
}

// Check holds one response against the document and returns every problem
// found, joined, or nil:
//
//   - the status is documented for the operation (or its default); a
//     method or path the document lacks must answer the shared Problem
//     response (#/components/responses/Problem);
//   - X-Request-ID is present, and so is every header the response
//     declares required, each matching its schema;
//   - the media type of Content-Type is documented for that response, and
//     the body matches its schema (as JSON, or as a string for text/*);
//   - a JSON object body with a request_id has the header's value, and an
//     application/problem+json body has the response's status.
//
// path may carry a query, which is ignored. A path that instantiates a
// templated one, /v1/items/85123A/similar for /v1/items/{id}/similar, is
// held against the template's operation.
func (d *Document) Check(method, path string, status int, header http.Header, body []byte) error {
	path, _, _ = strings.Cut(path, "?")
	where := fmt.Sprintf("%s %s %d", method, path, status)
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, where+": "+fmt.Sprintf(format, args...)) }

	id := header.Get(HeaderRequestID)
	if id == "" {
		fail("no %s header", HeaderRequestID)
	}
	resp, err := d.response(method, path, status)
	if err != nil {
		fail("%v", err)
		return join(errs)
	}
	if hs, ok := resp["headers"].(map[string]any); ok {
		for name, node := range hs {
			h, ok := node.(map[string]any)
			if !ok {
				fail("header %s: not an object in the document", name)
				continue
			}
			h, err := d.deref(h)
			if err != nil {
				fail("header %s: %v", name, err)
				continue
			}
			values := header.Values(name)
			if len(values) == 0 {
				if h["required"] == true && http.CanonicalHeaderKey(name) != HeaderRequestID { // that one is reported above
					fail("no %s header, which the document requires", name)
				}
				continue
			}
			if s, ok := h["schema"].(map[string]any); ok {
				for _, e := range d.validate(s, values[0], "header "+name) {
					fail("%s", e)
				}
			}
		}
	}

	ct := header.Get("Content-Type")
	content, _ := resp["content"].(map[string]any)
	if ct == "" && len(body) == 0 && len(content) == 0 {
		return join(errs) // a documented response without a body
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		fail("content type %q: %v", ct, err)
		return join(errs)
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		fail("media type %q is not documented (documented: %s)", mt, strings.Join(sortedKeys(content), ", "))
		return join(errs)
	}
	var value any = string(body)
	if !strings.HasPrefix(mt, "text/") {
		if value, err = ParseJSON(body); err != nil {
			fail("body is not JSON: %v\n%s", err, clip(body))
			return join(errs)
		}
	}
	if schema, ok := media["schema"].(map[string]any); ok {
		for _, e := range d.validate(schema, value, "$") {
			fail("%s", e)
		}
	}
	if obj, ok := value.(map[string]any); ok {
		if rid, ok := obj["request_id"]; ok && id != "" && rid != id {
			fail("body request_id %v, %s header %q", describe(rid), HeaderRequestID, id)
		}
		if mt == "application/problem+json" {
			if got := fmt.Sprint(obj["status"]); got != strconv.Itoa(status) {
				fail("problem status %s, response status %d", got, status)
			}
		}
	}
	return join(errs)
}

// CheckT is Check for tests: each problem is reported with t.Errorf.
func (d *Document) CheckT(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	if err := d.Check(method, path, status, header, body); err != nil {
		t.Errorf("response does not match the OpenAPI document:\n%v", err)
	}
}

// response finds the response object the document promises for a status:
// the operation's, or its default; the shared Problem response when the
// document has no such operation.
func (d *Document) response(method, path string, status int) (map[string]any, error) {
	resp, err := d.pointer("#/components/responses/Problem")
	if err != nil {
		return nil, err
	}
	if op, err := d.pointer("#/paths/" + escape(d.template(path)) + "/" + strings.ToLower(method)); err == nil {
		responses, _ := op["responses"].(map[string]any)
		r, ok := responses[strconv.Itoa(status)]
		if !ok {
			if r, ok = responses["default"]; !ok {
				return nil, fmt.Errorf("status %d is not documented", status)
			}
		}
		if resp, ok = r.(map[string]any); !ok {
			return nil, fmt.Errorf("response %d is not an object", status)
		}
	}
	return d.deref(resp)
}

// template returns the documented path that path instantiates: path itself
// when the document has it, else the first (in sorted order) templated path
// such as /v1/items/{id}/similar whose literal segments match and whose
// {name} segments are not empty; path when none matches.
func (d *Document) template(path string) string {
	paths := d.root["paths"].(map[string]any)
	if _, ok := paths[path]; ok {
		return path
	}
	got := strings.Split(path, "/")
	for _, p := range sortedKeys(paths) {
		want := strings.Split(p, "/")
		if len(want) != len(got) || !strings.Contains(p, "{") {
			continue
		}
		match := true
		for i, w := range want {
			if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
				match = match && got[i] != ""
			} else {
				match = match && w == got[i]
			}
		}
		if match {
			return p
		}
	}
	return path
}

func escape(token string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
}

// pointer follows a local reference such as "#/components/schemas/Item".
func (d *Document) pointer(ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("unsupported $ref %q", ref)
	}
	var node any = d.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not in an object", ref, part)
		}
		if node, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, part)
		}
	}
	m, ok := node.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q is not an object", ref)
	}
	return m, nil
}

// deref follows $ref until the node has none.
func (d *Document) deref(node map[string]any) (map[string]any, error) {
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node, nil
		}
		var err error
		if node, err = d.pointer(ref); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("$ref chain too long")
}
