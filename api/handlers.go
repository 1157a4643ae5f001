package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/similar"
)

// openAPIDocument is the OpenAPI 3.1 description of every route, served at
// GET /openapi.json; the tests hold real responses against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// recommendations serves POST /v1/recommendations: from the answer cache
// when it holds the answer (answers.go), from the recommender otherwise.
func (s *server) recommendations(c echo.Context) error {
	req, err := readRecommendationRequest(c.Request())
	if err != nil {
		return err
	}
	if s.deps.Recommender == nil {
		return &Error{Kind: KindUnavailable, Detail: "no recommender is configured"}
	}
	return s.answer(c, req)
}

// similarResponse is similar.Response plus the request id.
type similarResponse struct {
	RequestID string `json:"request_id"`
	similar.Response
}

// similarItems serves GET /v1/items/{id}/similar?k=.
func (s *server) similarItems(c echo.Context) error {
	k, err := decodeSimilarQuery(c.Request().URL.RawQuery)
	if err != nil {
		return err
	}
	// Echo routes on the escaped path only when it differs from the
	// decoded one (URL.RawPath set, as for %2F); otherwise the id is
	// already decoded, and decoding it again would turn 85123%2541 into
	// 85123A.
	id := c.Param("id")
	if c.Request().URL.RawPath != "" {
		id, err = url.PathUnescape(id)
	}
	if err != nil || id == "" {
		return &Error{Kind: KindNotFound, Detail: fmt.Sprintf("no item %q", c.Param("id"))}
	}
	if s.deps.Similar == nil {
		return &Error{Kind: KindUnavailable, Detail: "similar items are not configured"}
	}
	ctx := c.Request().Context()
	resp, err := s.deps.Similar.Similar(ctx, id, k)
	if err != nil {
		return err
	}
	resp.Items = withReasons(resp.Items, func(it *similar.Item) *[]string { return &it.Reasons })
	return writeJSON(c, http.StatusOK, similarResponse{RequestID: RequestID(ctx), Response: resp})
}

// healthz serves GET /healthz: the process is alive.
func (s *server) healthz(c echo.Context) error {
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

type readyBody struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// readyz serves GET /readyz: 200 when Readiness says ready, else a 503
// problem with its detail.
func (s *server) readyz(c echo.Context) error {
	var detail string
	if s.deps.Readiness != nil {
		var ok bool
		if ok, detail = s.deps.Readiness.Ready(); !ok {
			if detail == "" {
				detail = "starting or draining"
			}
			return &Error{Kind: KindUnavailable, Detail: "not ready: " + detail}
		}
	}
	return writeJSON(c, http.StatusOK, readyBody{Status: "ready", Detail: detail})
}

// models serves GET /v1/models.
func (s *server) models(c echo.Context) error {
	list := []ModelInfo{}
	if s.deps.Models != nil {
		if m := s.deps.Models.Models(); m != nil {
			list = m
		}
	}
	return writeJSON(c, http.StatusOK, struct {
		Models []ModelInfo `json:"models"`
	}{list})
}

// metrics serves GET /metrics through Telemetry's handler, or a 404 problem
// when there is none.
func (s *server) metrics(c echo.Context) error {
	var h http.Handler
	if s.deps.Telemetry != nil {
		h = s.deps.Telemetry.MetricsHandler()
	}
	if h == nil {
		return &Error{Kind: KindNotFound, Detail: "metrics are not enabled on this server"}
	}
	h.ServeHTTP(c.Response(), c.Request())
	return nil
}

// openAPI serves GET /openapi.json.
func (s *server) openAPI(c echo.Context) error {
	return blob(c, http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}

// writeJSON encodes v before writing anything, so an unencodable value (a
// NaN score) is a 500 problem rather than a 200 with half a body.
func writeJSON(c echo.Context, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return &Error{Kind: KindInternal, Detail: "cannot encode the response; report the request_id", Err: err}
	}
	return blob(c, status, echo.MIMEApplicationJSON, append(body, '\n'))
}

// blob writes a whole body with its Content-Length, so that net/http sends
// it in one write instead of in chunks (it chunks any body over its 2 KiB
// buffer whose length it was not told).
func blob(c echo.Context, status int, contentType string, body []byte) error {
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(status, contentType, body)
}
