package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// openAPI is the embedded document, parsed for the tests, with a validator
// for the subset of JSON Schema it uses: type (one or a list), required,
// properties, additionalProperties (false or a schema), enum, minimum,
// maximum, items and $ref to "#/...". Any other keyword that is not an
// annotation fails the validation, so the document cannot drift out of what
// is checked. Numbers must fit a float64 (RFC 8259 §6), as for the decoder.
type openAPI struct{ root map[string]any }

func loadOpenAPI(t testing.TB) *openAPI {
	t.Helper()
	root, err := parseJSON(openAPIDocument)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &openAPI{root: root.(map[string]any)}
}

// parseJSON keeps numbers as json.Number, so integers are judged exactly.
func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

// pointer follows a local reference such as "#/components/schemas/Item".
func (d *openAPI) pointer(ref string) (map[string]any, error) {
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
func (d *openAPI) deref(node map[string]any) (map[string]any, error) {
	for i := 0; i < 10; i++ {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node, nil
		}
		var err error
		if node, err = d.pointer(ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

var annotations = []string{"description", "default", "examples", "title", "summary"}

// validate returns one message per violation, each naming the JSON path.
func (d *openAPI) validate(schema map[string]any, v any, path string) []string {
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
				props := rule.(map[string]any)
				for name, sub := range props {
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
		default:
			if !slices.Contains(annotations, key) {
				fail("schema keyword %q is not supported by the test validator", key)
			}
		}
	}
	return errs
}

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

// schemaFor finds the schema the document promises for a response: the
// operation's response for the status (or "default"), for the media type.
// A path or method the document does not have must answer a problem, so it
// is held against the shared Problem response.
func (d *openAPI) schemaFor(method, path string, status int, contentType string) (map[string]any, error) {
	resp, err := d.pointer("#/components/responses/Problem")
	if err != nil {
		return nil, err
	}
	if op, err := d.pointer("#/paths/" + strings.ReplaceAll(path, "/", "~1") + "/" + strings.ToLower(method)); err == nil {
		responses := op["responses"].(map[string]any)
		r, ok := responses[strconv.Itoa(status)]
		if !ok {
			if r, ok = responses["default"]; !ok {
				return nil, fmt.Errorf("%s %s: status %d is not documented", method, path, status)
			}
		}
		resp = r.(map[string]any)
	}
	if resp, err = d.deref(resp); err != nil {
		return nil, err
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %v", contentType, err)
	}
	content, _ := resp["content"].(map[string]any)
	media, ok := content[mt].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s %d: media type %q is not documented", method, path, status, mt)
	}
	return media["schema"].(map[string]any), nil
}

// checkResponse holds a real response against the document: the schema of
// its status and media type, X-Request-ID on every response, and for a
// problem its status and request_id matching the response's.
func checkResponse(t *testing.T, d *openAPI, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	id := rec.Header().Get(HeaderRequestID)
	if id == "" {
		t.Errorf("%s %s: no %s header", method, path, HeaderRequestID)
	}
	ct := rec.Header().Get("Content-Type")
	schema, err := d.schemaFor(method, path, rec.Code, ct)
	if err != nil {
		t.Fatalf("%v (body %s)", err, rec.Body)
	}
	var body any = rec.Body.String()
	if !strings.HasPrefix(ct, "text/") {
		if body, err = parseJSON(rec.Body.Bytes()); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, rec.Body)
		}
	}
	for _, e := range d.validate(schema, body, "$") {
		t.Errorf("%s %s %d: %s", method, path, rec.Code, e)
	}
	if strings.HasPrefix(ct, "application/problem+json") {
		p := body.(map[string]any)
		if got := fmt.Sprint(p["status"]); got != strconv.Itoa(rec.Code) {
			t.Errorf("%s %s: problem status %s, response status %d", method, path, got, rec.Code)
		}
		if p["request_id"] != id {
			t.Errorf("%s %s: problem request_id %v, header %q", method, path, p["request_id"], id)
		}
	}
}
