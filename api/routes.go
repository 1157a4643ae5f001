package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes is the one list of every route and every middleware, in the order
// they run (outermost first). Echo applies e.Use middleware to unmatched
// paths too, so a 404 or 405 gets a request id and a problem body like any
// other error.
func (s *server) routes(e *echo.Echo) {
	mw := []echo.MiddlewareFunc{
		s.requestID,     // first: the id is in the context for everything below
		s.recoverPanics, // last resort for a panic in the middleware below (telemetry, wiring)
	}
	if s.deps.Telemetry != nil {
		if m := s.deps.Telemetry.Middleware(); m != nil {
			mw = append(mw, m) // tracing (traceparent) and metrics; sees the final status
		}
	}
	mw = append(mw, s.deps.Middleware...) // any other middleware the wiring adds
	mw = append(mw,
		s.accessLog,     // one line per request, with the final status
		s.commitErrors,  // errors become problems here, through s.handleError
		s.recoverPanics, // a panic in a handler becomes a 500 problem seen by the access log
		s.bodyLimit,     // Config.BodyLimit, 413 problem
	)
	e.Use(mw...)

	// The probes answer HEAD too: some load balancers' health checks send it
	// (net/http sends the headers and status and drops the body).
	e.Match([]string{http.MethodGet, http.MethodHead}, "/healthz", s.healthz)
	e.Match([]string{http.MethodGet, http.MethodHead}, "/readyz", s.readyz)
	e.GET("/metrics", s.metrics)
	e.GET("/openapi.json", s.openAPI)
	e.GET("/v1/models", s.models)
	e.POST("/v1/recommendations", s.recommendations)
	e.POST("/v1/rank", s.rank)
	e.GET("/v1/items/:id/similar", s.similarItems)
}
