package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/tailorhq/tailor/api/apitest"
)

// The OpenAPI validator lives in package apitest, so that tests running the
// real server can use it too; these adapt it to this package's tests.

// loadOpenAPI parses the embedded document; it stops the test when the
// document is unusable or any of its schemas is outside the validated
// subset.
func loadOpenAPI(t testing.TB) *apitest.Document {
	t.Helper()
	return apitest.MustParse(t, openAPIDocument)
}

// checkResponse holds a recorded response against the document: the schema
// of its status and media type, X-Request-ID on every response, request_id
// matching it, and a problem's status matching the response's.
func checkResponse(t *testing.T, d *apitest.Document, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	d.CheckT(t, method, path, rec.Code, rec.Header(), rec.Body.Bytes())
}

// parseJSON keeps numbers as json.Number, so integers are judged exactly.
var parseJSON = apitest.ParseJSON

// checkDuplicateKeys is the fuzz targets' oracle for a rule the schema
// cannot see (a parsed object keeps one value per key): when body, valid
// JSON, repeats a key within one object, the decoder must refuse it. It
// reports whether body repeats a key, so that the caller skips the schema
// comparison, which would judge the collapsed object.
func checkDuplicateKeys(t *testing.T, body []byte, err error) bool {
	t.Helper()
	if !repeatsKey(body) {
		return false
	}
	// Refused: for the repeat (duplicateMsg) or, when the repeat is inside
	// a field the decoder refuses as unknown, for that field.
	if err == nil {
		t.Fatalf("body %q repeats a key; the decoder accepted it", body)
	}
	return true
}

// repeatsKey walks body's tokens with a stack of the keys seen in each open
// object; it is written apart from the decoder's own check, which it tests.
func repeatsKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // the next string token of an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if s, ok := tok.(string); ok {
				if top.keys[s] {
					return true
				}
				top.keys[s] = true
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, object: true, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, a key comes next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

func TestRepeatsKey(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
	}{
		{`{"k":1,"k":2}`, true},
		{`{"context":{"":[],"":"0"}}`, true},
		{`{"a":{"b":1},"b":2}`, false},
		{`{"a":[{"b":1},{"b":2}]}`, false},
		{`{"a":["a","a"]}`, false},
		{`{"a":{"x":1},"c":{"x":2,"x":3}}`, true},
		{`{"a":[1,{"k":{}}],"k":0}`, false},
		{`["k","k"]`, false},
	} {
		if got := repeatsKey([]byte(tc.body)); got != tc.want {
			t.Errorf("repeatsKey(%s) = %v, want %v", tc.body, got, tc.want)
		}
	}
}
