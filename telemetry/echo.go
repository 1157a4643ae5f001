package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/github.com/labstack/echo/otelecho"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RouteUnmatched is the route label of requests that matched no route.
const RouteUnmatched = "unmatched"

// EchoMiddleware starts the server span of each request (otelecho with this
// Telemetry's provider and propagator, so an incoming traceparent becomes the
// remote parent) and records tailor_http_request_duration_seconds by route
// template (c.Path(), never the raw URL), method and status.
//
// Register it with e.Use (not e.Pre: the route must be known) before any
// middleware whose spans or logs should belong to the request, and before
// echo's middleware.Recover, so that a panic becomes a 500 that the span and
// the histogram see. An error
// returned by the handler is handed to Echo's HTTP error handler here, once,
// so that the span and the histogram see the final status; the middleware
// then returns nil, and Echo does not call the error handler a second time.
func (t *Telemetry) EchoMiddleware() echo.MiddlewareFunc {
	otelMW := otelecho.Middleware(t.service,
		otelecho.WithTracerProvider(t.tracerProvider),
		otelecho.WithPropagators(t.propagator))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		traced := otelMW(next)
		return func(c echo.Context) error {
			start := time.Now()
			err := traced(c) // otelecho has already called c.Error(err)
			route := c.Path()
			if route == "" {
				route = RouteUnmatched
			}
			status := c.Response().Status
			if err != nil && !c.Response().Committed {
				// otelecho handled the error but nothing was written (an error
				// handler that writes nothing); report what Echo would.
				status = http.StatusInternalServerError
			}
			t.inst.httpDuration.Record(c.Request().Context(), time.Since(start).Seconds(),
				metric.WithAttributes(
					attribute.String("route", route),
					attribute.String("method", methodLabel(c.Request().Method)),
					attribute.String("status", strconv.Itoa(status))))
			return nil
		}
	}
}

// methodLabel bounds the method label to the standard methods, so that a
// client cannot create series at will.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "OTHER"
}
