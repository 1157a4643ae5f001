package api

import "bytes"

// OpenAPIDocument returns a copy of the OpenAPI 3.1 document served at
// GET /openapi.json, for tests outside this package that hold real
// responses against it (see package apitest).
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDocument) }
