package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// BenchmarkEchoMiddleware measures the middleware's cost per request on a
// handler that does nothing, with and without it (no exporter configured).
func BenchmarkEchoMiddleware(b *testing.B) {
	tel, err := New(context.Background(), Config{SampleRatio: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	for _, withTelemetry := range []bool{false, true} {
		e := echo.New()
		if withTelemetry {
			e.Use(tel.EchoMiddleware())
		}
		e.GET("/v1/items/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
		name := "bare"
		if withTelemetry {
			name = "telemetry"
		}
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/items/1", nil)
			req.Header.Set("traceparent", traceparent)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

// BenchmarkRecord measures the per-call cost of the hot-path recorders.
func BenchmarkRecord(b *testing.B) {
	tel, err := New(context.Background(), Config{SampleRatio: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	ctx, span := Start(context.Background(), tel.Tracer(""), SpanInference)
	defer span.End()
	b.ReportAllocs()
	for b.Loop() {
		tel.RecordCache(ctx, true)
		tel.RecordInference(ctx, "cf@20111101.d9a8bd95", 16000, nil)
	}
}
