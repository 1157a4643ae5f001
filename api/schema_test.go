package api

import (
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
