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
	"math"
	"mime"
	"net/http"
	"slices"
	"sort"
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

// findSchemas walks a part of the document that is not itself a schema and
// checks every schema it names (the value of a "schema" key). Examples are
// data, not document, and are skipped.
func (d *Document) findSchemas(v any, at string, errs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			switch k {
			case "schema":
				d.checkSchema(sub, at+"/schema", errs)
			case "example", "examples":
			default:
				d.findSchemas(sub, at+"/"+escape(k), errs)
			}
		}
	case []any:
		for i, sub := range v {
			d.findSchemas(sub, fmt.Sprintf("%s/%d", at, i), errs)
		}
	}
}

// checkSchema fails on a keyword outside the subset, a malformed keyword
// value (which validate would otherwise trip on) and a dangling $ref.
func (d *Document) checkSchema(s any, at string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	m, ok := s.(map[string]any)
	if !ok {
		fail("a schema must be an object, not %s", describe(s))
		return
	}
	for k, v := range m {
		switch k {
		case "$ref":
			ref, ok := v.(string)
			if !ok {
				fail("$ref is not a string")
			} else if _, err := d.pointer(ref); err != nil {
				fail("%v", err)
			}
		case "type":
			types, ok := v.([]any)
			if !ok {
				types = []any{v}
			}
			for _, t := range types {
				if name, ok := t.(string); !ok || !slices.Contains(typeNames, name) {
					fail("type %s is not one of %v", describe(t), typeNames)
				}
			}
		case "enum":
			if _, ok := v.([]any); !ok {
				fail("enum is not an array")
			}
		case "minimum", "maximum":
			if _, ok := number(v); !ok {
				fail("%s is not a number", k)
			}
		case "minItems", "maxItems":
			if n, ok := number(v); !ok || n < 0 || n != math.Trunc(n) {
				fail("%s is not a non-negative integer", k)
			}
		case "uniqueItems":
			if _, ok := v.(bool); !ok {
				fail("uniqueItems is not a boolean")
			}
		case "required":
			names, ok := v.([]any)
			if !ok || slices.ContainsFunc(names, func(n any) bool { _, ok := n.(string); return !ok }) {
				fail("required is not an array of strings")
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				fail("properties is not an object")
				continue
			}
			for name, sub := range props {
				d.checkSchema(sub, at+"/properties/"+escape(name), errs)
			}
		case "additionalProperties":
			if _, ok := v.(bool); !ok {
				d.checkSchema(v, at+"/additionalProperties", errs)
			}
		case "items":
			d.checkSchema(v, at+"/items", errs)
		default:
			if !slices.Contains(annotations, k) {
				fail("schema keyword %q is not supported by the validator", k)
			}
		}
	}
}

// validate returns one message per violation, each naming the JSON path,
// sorted. The schema must have passed checkSchema.
func (d *Document) validate(schema map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	for key, rule := range schema {
		switch key {
		case "$ref":
			target, err := d.pointer(rule.(string))
			if err != nil {
				fail("%v", err)
				continue
			}
			errs = append(errs, d.validate(target, v, path)...)
		case "type":
			types, ok := rule.([]any)
			if !ok {
				types = []any{rule}
			}
			if !slices.ContainsFunc(types, func(t any) bool { return hasType(v, t.(string)) }) {
				fail("%s is not of type %v", describe(v), rule)
			}
		case "enum":
			if !slices.ContainsFunc(rule.([]any), func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) && hasType(e, kindName(v)) }) {
				fail("%s is not one of %v", describe(v), rule)
			}
		case "minimum", "maximum":
			x, ok := number(v)
			if !ok {
				continue
			}
			limit, _ := number(rule)
			if key == "minimum" && x < limit || key == "maximum" && x > limit {
				fail("%v violates %s %v", x, key, limit)
			}
		case "required":
			if m, ok := v.(map[string]any); ok {
				for _, name := range rule.([]any) {
					if _, ok := m[name.(string)]; !ok {
						fail("missing required %q", name)
					}
				}
			}
		case "properties":
			if m, ok := v.(map[string]any); ok {
				for name, sub := range rule.(map[string]any) {
					if x, ok := m[name]; ok {
						errs = append(errs, d.validate(sub.(map[string]any), x, path+"."+name)...)
					}
				}
			}
		case "additionalProperties":
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := schema["properties"].(map[string]any)
			for name, x := range m {
				if _, known := props[name]; known {
					continue
				}
				switch sub := rule.(type) {
				case bool:
					if !sub {
						fail("property %q is not allowed", name)
					}
				case map[string]any:
					errs = append(errs, d.validate(sub, x, path+"."+name)...)
				}
			}
		case "items":
			if a, ok := v.([]any); ok {
				for i, x := range a {
					errs = append(errs, d.validate(rule.(map[string]any), x, fmt.Sprintf("%s[%d]", path, i))...)
				}
			}
		case "minItems", "maxItems":
			a, ok := v.([]any)
			if !ok {
				continue
			}
			limit, _ := number(rule)
			if key == "minItems" && float64(len(a)) < limit || key == "maxItems" && float64(len(a)) > limit {
				fail("%d items violate %s %v", len(a), key, limit)
			}
		case "uniqueItems":
			a, ok := v.([]any)
			if !ok || rule != true {
				continue
			}
			for i := range a {
				for j := range i {
					if equal(a[i], a[j]) {
						fail("items %d and %d are equal (%s), uniqueItems", j, i, describe(a[i]))
					}
				}
			}
		default:
			if !slices.Contains(annotations, key) {
				fail("schema keyword %q is not supported by the validator", key)
			}
		}
	}
	sort.Strings(errs)
	return errs
}

// equal is JSON Schema's equality: numbers by value (1 equals 1.0), arrays
// element by element, objects key by key, the rest as Go values.
func equal(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		x, okA := number(a)
		y, okB := number(b)
		return okA && okB && x == y
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			y, ok := b[k]
			if !ok || !equal(x, y) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// number is a JSON number as a float64; one that does not fit is not a
// number.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

func hasType(v any, typ string) bool {
	switch typ {
	case "integer":
		f, ok := number(v)
		return ok && f == math.Trunc(f)
	case "number":
		_, ok := number(v)
		return ok
	default:
		return kindName(v) == typ
	}
}

func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func describe(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:60], "..."...)
	}
	return string(b)
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func join(msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		errs[i] = errors.New(m)
	}
	return errors.Join(errs...)
}
