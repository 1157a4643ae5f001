// Package telemetry gives Tailor its traces, metrics and trace-aware logs.
//
// New builds a TracerProvider and a MeterProvider from a plain Config (see
// ConfigFromEnv) without touching the OpenTelemetry globals. Spans are
// exported over OTLP/HTTP only when an endpoint is configured; otherwise they
// are not recorded (nothing would receive them), but still have trace and
// span ids and are propagated (W3C tracecontext and baggage), so that logs
// carry trace ids. Metrics are served for Prometheus by MetricsHandler
// from the Telemetry's own registry, and pushed over OTLP/HTTP when a metrics
// endpoint is configured.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of Tailor's own tracer and meter.
const ScopeName = "github.com/tailorhq/tailor"

// Telemetry owns the tracer and meter providers, the Prometheus registry and
// the instruments. Its methods are safe for concurrent use.
type Telemetry struct {
	tracerProvider trace.TracerProvider
	shutdowns      []func(context.Context) error
	meterProvider  *sdkmetric.MeterProvider
	registry       *prometheus.Registry
	propagator     propagation.TextMapPropagator
	tracer         trace.Tracer
	log            *slog.Logger
	service        string
	inst           *instruments

	shutdownOnce sync.Once
	shutdownErr  error
}

// Option changes how New builds a Telemetry; mostly for tests.
type Option func(*options)

type options struct {
	processors []sdktrace.SpanProcessor
	log        *slog.Logger
}

// WithSpanExporter sends every ended span to exp synchronously, in addition
// to the configured OTLP export. Tests pass tracetest.NewInMemoryExporter().
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(exp))
}

// WithSpanProcessor adds a span processor to the TracerProvider.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return func(o *options) { o.processors = append(o.processors, p) }
}

// WithLogger sets the logger that BreakerTransition writes to. By default
// nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// New builds the providers and instruments from cfg. Call Shutdown last when
// the server stops, so that buffered spans and metrics are flushed.
func New(ctx context.Context, cfg Config, opts ...Option) (*Telemetry, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if !(cfg.SampleRatio >= 0 && cfg.SampleRatio <= 1) {
		return nil, fmt.Errorf("telemetry: sample ratio %v is not in [0, 1]", cfg.SampleRatio)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	res := resource.NewSchemaless(attrs...)

	t := &Telemetry{
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		registry:   prometheus.NewRegistry(),
		log:        o.log,
		service:    name,
	}
	fail := func(err error) (*Telemetry, error) {
		_ = t.Shutdown(ctx)
		return nil, err
	}

	if cfg.Disabled {
		t.tracerProvider = tracenoop.NewTracerProvider()
	} else {
		root := sdktrace.TraceIDRatioBased(cfg.SampleRatio)
		sampler := sdktrace.ParentBased(root)
		if cfg.IgnoreParent {
			sampler = root
		}
		if cfg.OTLPEndpoint == "" && len(o.processors) == 0 {
			// Nothing would receive a span: record none. Spans still carry a
			// trace and span id (the logs print them) and propagate
			// traceparent, but cost no attributes, events or buffers.
			sampler = sdktrace.NeverSample()
		}
		topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
		if cfg.OTLPEndpoint != "" {
			exp, err := otlptracehttp.New(ctx,
				otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint),
				otlptracehttp.WithHeaders(cfg.OTLPHeaders))
			if err != nil {
				return nil, fmt.Errorf("telemetry: OTLP trace exporter: %w", err)
			}
			topts = append(topts, sdktrace.WithBatcher(exp))
		}
		for _, p := range o.processors {
			topts = append(topts, sdktrace.WithSpanProcessor(p))
		}
		tp := sdktrace.NewTracerProvider(topts...)
		t.tracerProvider = tp
		t.shutdowns = append(t.shutdowns, tp.Shutdown)
	}
	t.tracer = t.tracerProvider.Tracer(ScopeName)

	if err := t.registry.Register(collectors.NewGoCollector()); err != nil {
		return fail(fmt.Errorf("telemetry: Go collector: %w", err))
	}
	if err := t.registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return fail(fmt.Errorf("telemetry: process collector: %w", err))
	}
	promExp, err := otelprom.New(otelprom.WithRegisterer(t.registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return fail(fmt.Errorf("telemetry: Prometheus exporter: %w", err))
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	if cfg.OTLPMetricsEndpoint != "" && !cfg.Disabled {
		exp, err := otlpmetrichttp.New(ctx,
			otlpmetrichttp.WithEndpointURL(cfg.OTLPMetricsEndpoint),
			otlpmetrichttp.WithHeaders(cfg.OTLPHeaders))
		if err != nil {
			return fail(fmt.Errorf("telemetry: OTLP metric exporter: %w", err))
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	t.meterProvider = sdkmetric.NewMeterProvider(mopts...)
	t.shutdowns = append(t.shutdowns, t.meterProvider.Shutdown)

	if t.inst, err = newInstruments(t.meterProvider.Meter(ScopeName)); err != nil {
		return fail(fmt.Errorf("telemetry: instruments: %w", err))
	}
	return t, nil
}

// Tracer returns a tracer of the Telemetry's provider. An empty name gives
// Tailor's own tracer.
func (t *Telemetry) Tracer(name string) trace.Tracer {
	if name == "" || name == ScopeName {
		return t.tracer
	}
	return t.tracerProvider.Tracer(name)
}

// TracerProvider returns the provider, for instrumentation that takes one.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracerProvider }

// Meter returns a meter of the Telemetry's provider; its instruments appear
// on /metrics.
func (t *Telemetry) Meter(name string) metric.Meter {
	if name == "" {
		name = ScopeName
	}
	return t.meterProvider.Meter(name)
}

// Propagator returns the W3C tracecontext + baggage propagator.
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.propagator }

// Registry returns the Prometheus registry behind MetricsHandler.
func (t *Telemetry) Registry() *prometheus.Registry { return t.registry }

// MetricsHandler serves the registry in the Prometheus exposition format,
// for GET /metrics.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Shutdown flushes buffered spans and metrics to their exporters and stops
// the providers. Later calls return the first call's result. ctx bounds the
// flush.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		var errs []error
		for _, f := range t.shutdowns {
			errs = append(errs, f(ctx))
		}
		t.shutdownErr = errors.Join(errs...)
	})
	return t.shutdownErr
}
