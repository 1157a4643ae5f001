package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Span attribute keys, in one place so that every package names a fact the
// same way.
const (
	AttrCacheHit          = attribute.Key("tailor.cache.hit")          // bool: features came from the cache
	AttrAnswerCacheHit    = attribute.Key("tailor.answer_cache.hit")   // bool: the whole answer came from the answer cache
	AttrModel             = attribute.Key("tailor.model")              // string: name@version
	AttrOutcome           = attribute.Key("tailor.outcome")            // string: ok, error, timeout, canceled
	AttrBreaker           = attribute.Key("tailor.breaker.name")       // string: breaker name
	AttrBreakerState      = attribute.Key("tailor.breaker.state")      // string: closed, half-open, open (the new state in an event)
	AttrBreakerFrom       = attribute.Key("tailor.breaker.from")       // string: previous state, in breaker.state_change
	AttrFallbackReason    = attribute.Key("tailor.fallback.reason")    // string: why a rule answered
	AttrFeaturesDefaulted = attribute.Key("tailor.features.defaulted") // int: features filled with their default
	AttrCustomerKnown     = attribute.Key("tailor.customer.known")     // bool: the customer has a profile
	AttrRequestID         = attribute.Key("tailor.request_id")         // string: X-Request-ID
	AttrSessionItems      = attribute.Key("tailor.session.items")      // int: distinct catalog items the session added to the interaction vector
	AttrSessionUnknown    = attribute.Key("tailor.session.unknown")    // int: session items ignored because their id is not in the catalog
)

// EventBreakerStateChange is the span event that BreakerTransition adds.
const EventBreakerStateChange = "breaker.state_change"

// Suggested span names for the stages of a recommendation, so that traces
// read the same everywhere. The server span is named by the Echo middleware
// ("POST /v1/recommendations").
const (
	SpanFeatures  = "features.fetch"
	SpanInference = "model.inference"
	SpanBlend     = "recommend.blend"
	SpanFallback  = "fallback"
)

// Start starts a span named name as a child of the span in ctx, with attrs.
func Start(ctx context.Context, tracer trace.Tracer, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span; a non-nil err is recorded on it and sets its status to Error.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
