package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Instrument names. The Prometheus exporter turns dots into underscores and
// adds the unit and _total suffixes: tailor.http.request.duration with unit s
// is served as tailor_http_request_duration_seconds.
const (
	MetricHTTPDuration      = "tailor.http.request.duration"    // histogram, s; route, method, status
	MetricInferenceDuration = "tailor.model.inference.duration" // histogram, s; model, outcome
	MetricCacheHits         = "tailor.feature_cache.hits"       // counter
	MetricCacheMisses       = "tailor.feature_cache.misses"     // counter
	MetricCacheHitRatio     = "tailor.feature_cache.hit"        // gauge, unit 1 (served as ..._hit_ratio)
	MetricBreakerState      = "tailor.breaker.state"            // gauge; breaker
	MetricBreakerTransition = "tailor.breaker.transitions"      // counter; breaker, from, to
	MetricFallbacks         = "tailor.fallbacks"                // counter; reason
	MetricCFBatchSize       = "tailor.cf.batch.size"            // histogram, rows per CF model call
	MetricAnswerCache       = "tailor.answer_cache.lookups"     // counter; result (hit, miss)
)

// Bucket boundaries in seconds. Requests are expected to take about a
// millisecond and must answer within a chatbot's 5 s turn; a bare inference
// takes tens of microseconds.
var (
	HTTPBuckets      = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	InferenceBuckets = []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
	BatchBuckets     = []float64{1, 2, 4, 8, 16, 32, 64}
)

// Breaker states as the values of tailor_breaker_state. The names are those
// of sony/gobreaker's State.String().
var breakerStates = map[string]int64{"closed": 0, "half-open": 1, "open": 2}

type instruments struct {
	httpDuration      metric.Float64Histogram
	inferenceDuration metric.Float64Histogram
	cacheHits         metric.Int64Counter
	cacheMisses       metric.Int64Counter
	breakerState      metric.Int64Gauge
	breakerTransition metric.Int64Counter
	fallbacks         metric.Int64Counter
	cfBatchSize       metric.Int64Histogram
	answerCache       metric.Int64Counter

	hits, misses atomic.Int64
	breakers     sync.Map // breaker name -> last state (string)
}

func newInstruments(m metric.Meter) (*instruments, error) {
	in := &instruments{}
	var errs [10]error
	in.httpDuration, errs[0] = m.Float64Histogram(MetricHTTPDuration, metric.WithUnit("s"),
		metric.WithDescription("Server-side duration of HTTP requests by route template, method and status."),
		metric.WithExplicitBucketBoundaries(HTTPBuckets...))
	in.inferenceDuration, errs[1] = m.Float64Histogram(MetricInferenceDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of one model inference by model (name@version) and outcome (ok, error, timeout, canceled)."),
		metric.WithExplicitBucketBoundaries(InferenceBuckets...))
	in.cacheHits, errs[2] = m.Int64Counter(MetricCacheHits,
		metric.WithDescription("Feature lookups answered by the in-process cache."))
	in.cacheMisses, errs[3] = m.Int64Counter(MetricCacheMisses,
		metric.WithDescription("Feature lookups that missed the in-process cache."))
	_, errs[4] = m.Float64ObservableGauge(MetricCacheHitRatio, metric.WithUnit("1"),
		metric.WithDescription("Share of feature lookups answered by the cache since the process started; "+
			"for a window use rate(hits) / (rate(hits) + rate(misses))."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			h, m := in.hits.Load(), in.misses.Load()
			if h+m > 0 {
				o.Observe(float64(h) / float64(h+m))
			}
			return nil
		}))
	in.breakerState, errs[5] = m.Int64Gauge(MetricBreakerState,
		metric.WithDescription("Circuit breaker state: 0 closed, 1 half-open, 2 open."))
	in.breakerTransition, errs[6] = m.Int64Counter(MetricBreakerTransition,
		metric.WithDescription("Circuit breaker state changes by breaker, from and to."))
	in.fallbacks, errs[7] = m.Int64Counter(MetricFallbacks,
		metric.WithDescription("Answers (or parts of answers) served by a fallback rule, by reason."))
	in.cfBatchSize, errs[8] = m.Int64Histogram(MetricCFBatchSize,
		metric.WithDescription("Customers scored together in one CF model call (the CF batcher's batches)."),
		metric.WithExplicitBucketBoundaries(BatchBuckets...))
	in.answerCache, errs[9] = m.Int64Counter(MetricAnswerCache,
		metric.WithDescription("Recommendation requests looked up in the answer cache, by result (hit, miss); requests with session items are not looked up."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	// Both cache series exist from the start, so that ratios over them work.
	in.cacheHits.Add(context.Background(), 0)
	in.cacheMisses.Add(context.Background(), 0)
	return in, nil
}

// Outcomes of RecordInference.
const (
	OutcomeOK       = "ok"
	OutcomeError    = "error"
	OutcomeTimeout  = "timeout"
	OutcomeCanceled = "canceled"
)

// Outcome classifies an inference error: nil is ok, a deadline is timeout, a
// cancellation is canceled, anything else is error.
func Outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	}
	return OutcomeError
}

// RecordInference records one model call of model ("name@version") that took
// d and ended with err, and sets tailor.model and tailor.outcome on the span
// in ctx.
func (t *Telemetry) RecordInference(ctx context.Context, model string, d time.Duration, err error) {
	outcome := Outcome(err)
	t.inst.inferenceDuration.Record(ctx, d.Seconds(), metric.WithAttributes(
		attribute.String("model", model), attribute.String("outcome", outcome)))
	trace.SpanFromContext(ctx).SetAttributes(AttrModel.String(model), AttrOutcome.String(outcome))
}

// RecordCFBatch records the size of one batch of the CF batcher.
func (t *Telemetry) RecordCFBatch(ctx context.Context, n int) {
	t.inst.cfBatchSize.Record(ctx, int64(n))
}

// RecordAnswerCache counts one answer-cache lookup and sets
// tailor.answer_cache.hit on the span in ctx (the request's server span).
func (t *Telemetry) RecordAnswerCache(ctx context.Context, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	t.inst.answerCache.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
	trace.SpanFromContext(ctx).SetAttributes(AttrAnswerCacheHit.Bool(hit))
}

// RecordCache counts one feature-cache lookup and sets tailor.cache.hit on
// the span in ctx.
func (t *Telemetry) RecordCache(ctx context.Context, hit bool) {
	if hit {
		t.inst.hits.Add(1)
		t.inst.cacheHits.Add(ctx, 1)
	} else {
		t.inst.misses.Add(1)
		t.inst.cacheMisses.Add(ctx, 1)
	}
	trace.SpanFromContext(ctx).SetAttributes(AttrCacheHit.Bool(hit))
}

// RecordFallback counts one fallback by reason and sets tailor.fallback.reason
// on the span in ctx. Keep reasons to a small fixed set: each is a series.
func (t *Telemetry) RecordFallback(ctx context.Context, reason string) {
	t.inst.fallbacks.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
	trace.SpanFromContext(ctx).SetAttributes(AttrFallbackReason.String(reason))
}

// SetBreakerState sets tailor_breaker_state{breaker=name} to state ("closed",
// "half-open" or "open"; anything else is recorded as -1). Call it once per
// breaker at start-up so the series exists. If the breaker was last seen in
// another state, the change is counted in tailor_breaker_transitions_total.
func (t *Telemetry) SetBreakerState(name, state string) {
	t.setBreaker(context.Background(), name, "", state)
}

// BreakerTransition records a state change of breaker name: the gauge and
// the transitions counter as SetBreakerState does, a "breaker.state_change"
// event on the span in ctx, and an info log line (see WithLogger).
// gobreaker's OnStateChange has no context: pass the request's if you have
// it, else context.Background() (no span event then).
func (t *Telemetry) BreakerTransition(ctx context.Context, name, from, to string) {
	t.setBreaker(ctx, name, from, to)
	trace.SpanFromContext(ctx).AddEvent(EventBreakerStateChange, trace.WithAttributes(
		AttrBreaker.String(name), AttrBreakerFrom.String(from), AttrBreakerState.String(to)))
	t.log.LogAttrs(ctx, slog.LevelInfo, "circuit breaker state change",
		slog.String("breaker", name), slog.String("from", from), slog.String("to", to))
}

func (t *Telemetry) setBreaker(ctx context.Context, name, from, to string) {
	prev, loaded := t.inst.breakers.Swap(name, to)
	if from == "" && loaded {
		from = prev.(string)
	}
	v, ok := breakerStates[to]
	if !ok {
		v = -1
	}
	t.inst.breakerState.Record(ctx, v, metric.WithAttributes(attribute.String("breaker", name)))
	if from != "" && from != to {
		t.inst.breakerTransition.Add(ctx, 1, metric.WithAttributes(attribute.String("breaker", name),
			attribute.String("from", from), attribute.String("to", to)))
	}
}
