package telemetry_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/tailorhq/tailor/telemetry"
)

// How cmd/serve is meant to wire the package: configuration read once,
// telemetry first up and last down.
func Example() {
	ctx := context.Background()
	cfg, err := telemetry.ConfigFromEnv(os.Getenv) // cmd/serve passes its injected getenv
	if err != nil {
		panic(err)
	}
	cfg.ServiceVersion = "v1.2.3"
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(os.Stderr, nil)))
	tel, err := telemetry.New(ctx, cfg, telemetry.WithLogger(log))
	if err != nil {
		panic(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(sctx) // last, after the HTTP server has drained
	}()

	e := echo.New()
	e.Use(tel.EchoMiddleware(), middleware.Recover()) // Recover inside: a panic becomes a 500 the span sees
	e.GET("/metrics", echo.WrapHandler(tel.MetricsHandler()))
	e.POST("/v1/recommendations", func(c echo.Context) error {
		ctx := c.Request().Context()
		tr := tel.Tracer("")
		fctx, span := telemetry.Start(ctx, tr, telemetry.SpanFeatures, telemetry.AttrCustomerKnown.Bool(true))
		tel.RecordCache(fctx, true)
		telemetry.End(span, nil)
		log.InfoContext(ctx, "answered") // carries trace_id and span_id
		return c.NoContent(204)
	})
	tel.SetBreakerState("cf@20111101.d9a8bd95", "closed")
}
