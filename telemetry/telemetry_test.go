package telemetry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const (
	incomingTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpanID  = "00f067aa0ba902b7"
	traceparent     = "00-" + incomingTraceID + "-" + incomingSpanID + "-01"
)

// newTest builds a Telemetry that records every span in memory.
func newTest(t *testing.T, opts ...Option) (*Telemetry, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tel, err := New(context.Background(), Config{ServiceName: "tailor-test", ServiceVersion: "v0", SampleRatio: 1},
		append([]Option{WithSpanExporter(exp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel, exp
}

// newEcho serves POST /v1/items/:id through the middleware; the handler makes
// the child spans a recommendation makes.
func newEcho(tel *Telemetry) *echo.Echo {
	e := echo.New()
	e.Use(tel.EchoMiddleware())
	tr := tel.Tracer("")
	e.POST("/v1/items/:id", func(c echo.Context) error {
		ctx := c.Request().Context()
		fctx, fs := Start(ctx, tr, SpanFeatures, AttrCustomerKnown.Bool(true))
		tel.RecordCache(fctx, false)
		fs.SetAttributes(AttrFeaturesDefaulted.Int(2))
		End(fs, nil)
		ictx, is := Start(ctx, tr, SpanInference)
		tel.RecordInference(ictx, "cf@20111101.d9a8bd95", 30*time.Microsecond, nil)
		End(is, nil)
		bctx, bs := Start(ctx, tr, SpanFallback)
		tel.RecordFallback(bctx, "model_timeout")
		tel.BreakerTransition(bctx, "cf", "closed", "open")
		End(bs, errors.New("cf timed out"))
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")})
	})
	e.GET("/v1/fail", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "draining")
	})
	return e
}

func serve(e *echo.Echo, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestEchoMiddlewareSpanTree(t *testing.T) {
	tel, exp := newTest(t)
	rec := serve(newEcho(tel), http.MethodPost, "/v1/items/85123A", map[string]string{"traceparent": traceparent})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	server, ok := byName["POST /v1/items/:id"]
	if !ok || len(spans) != 4 {
		t.Fatalf("want the server span and three children, got %d spans: %v", len(spans), byName)
	}
	if got := server.SpanContext.TraceID().String(); got != incomingTraceID {
		t.Errorf("server span trace id %s, want the incoming %s", got, incomingTraceID)
	}
	if !server.Parent.IsRemote() || server.Parent.SpanID().String() != incomingSpanID {
		t.Errorf("server span parent %v, want the remote span %s", server.Parent, incomingSpanID)
	}
	if server.SpanKind != trace.SpanKindServer {
		t.Errorf("server span kind %v", server.SpanKind)
	}
	if got := attrs(server.Attributes)["http.route"].AsString(); got != "/v1/items/:id" {
		t.Errorf("http.route %q", got)
	}
	if got := server.Resource.Set(); !got.HasValue("service.name") {
		t.Errorf("resource %v lacks service.name", got)
	}
	for _, name := range []string{SpanFeatures, SpanInference, SpanFallback} {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("no %s span", name)
		}
		if s.Parent.SpanID() != server.SpanContext.SpanID() || s.SpanContext.TraceID() != server.SpanContext.TraceID() {
			t.Errorf("%s is not a child of the server span", name)
		}
	}
	want := map[string]map[attribute.Key]attribute.Value{
		SpanFeatures: {AttrCacheHit: attribute.BoolValue(false), AttrCustomerKnown: attribute.BoolValue(true),
			AttrFeaturesDefaulted: attribute.IntValue(2)},
		SpanInference: {AttrModel: attribute.StringValue("cf@20111101.d9a8bd95"), AttrOutcome: attribute.StringValue("ok")},
		SpanFallback:  {AttrFallbackReason: attribute.StringValue("model_timeout")},
	}
	for name, kv := range want {
		got := attrs(byName[name].Attributes)
		for k, v := range kv {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", name, k, got[k].Emit(), v.Emit())
			}
		}
	}
	fb := byName[SpanFallback]
	if fb.Status.Code != codes.Error {
		t.Errorf("fallback span status %v, want Error", fb.Status)
	}
	var found bool
	for _, ev := range fb.Events {
		if ev.Name == EventBreakerStateChange {
			a := attrs(ev.Attributes)
			found = a[AttrBreaker].AsString() == "cf" && a[AttrBreakerFrom].AsString() == "closed" &&
				a[AttrBreakerState].AsString() == "open"
		}
	}
	if !found {
		t.Errorf("no %s event with breaker, from and to on the fallback span: %v", EventBreakerStateChange, fb.Events)
	}
}

func TestEchoMiddlewareWithoutTraceparentStartsATrace(t *testing.T) {
	tel, exp := newTest(t)
	serve(newEcho(tel), http.MethodPost, "/v1/items/1", nil)
	for _, s := range exp.GetSpans() {
		if s.Name == "POST /v1/items/:id" && (s.Parent.IsValid() || !s.SpanContext.IsValid()) {
			t.Errorf("server span without traceparent: parent %v, context %v", s.Parent, s.SpanContext)
		}
	}
}

func TestEchoMiddlewareHandlesErrorsOnce(t *testing.T) {
	tel, exp := newTest(t)
	e := newEcho(tel)
	calls := 0
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		calls++
		e.DefaultHTTPErrorHandler(err, c)
	}
	rec := serve(e, http.MethodGet, "/v1/fail", nil)
	if rec.Code != http.StatusServiceUnavailable || calls != 1 {
		t.Fatalf("status %d after %d error handler calls, want 503 after 1", rec.Code, calls)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Status.Code != codes.Error {
		t.Fatalf("want one server span with status Error, got %v", spans)
	}
}

func TestSamplerFollowsConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg       Config
		hdr       map[string]string
		wantSpans int
	}{
		{Config{SampleRatio: 0}, nil, 0},
		{Config{SampleRatio: 1}, nil, 1},
		{Config{SampleRatio: 0}, map[string]string{"traceparent": traceparent}, 1},                     // parent-based
		{Config{SampleRatio: 0, IgnoreParent: true}, map[string]string{"traceparent": traceparent}, 0}, // always_off
		{Config{SampleRatio: 1, Disabled: true}, nil, 0},
	} {
		exp := tracetest.NewInMemoryExporter()
		tel, err := New(context.Background(), tc.cfg, WithSpanExporter(exp))
		if err != nil {
			t.Fatal(err)
		}
		serve(newEcho(tel), http.MethodGet, "/v1/fail", tc.hdr)
		if got := len(exp.GetSpans()); got != tc.wantSpans {
			t.Errorf("%+v with %v: %d spans, want %d", tc.cfg, tc.hdr, got, tc.wantSpans)
		}
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

func TestNewRejectsBadRatio(t *testing.T) {
	if _, err := New(context.Background(), Config{SampleRatio: 2}); err == nil {
		t.Fatal("ratio 2 accepted")
	}
}

// keepExporter is an in-memory exporter whose Shutdown keeps the spans.
type keepExporter struct{ *tracetest.InMemoryExporter }

func (keepExporter) Shutdown(context.Context) error { return nil }

func TestShutdownFlushesAndIsIdempotent(t *testing.T) {
	exp := keepExporter{tracetest.NewInMemoryExporter()}
	tel, err := New(context.Background(), Config{SampleRatio: 1},
		WithSpanProcessor(sdktrace.NewBatchSpanProcessor(exp, sdktrace.WithBatchTimeout(time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.Tracer("").Start(context.Background(), "buffered")
	span.End()
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans exported before Shutdown; the batch should still hold it", n)
	}
	for i := 0; i < 2; i++ {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown #%d: %v", i+1, err)
		}
	}
	if n := len(exp.GetSpans()); n != 1 {
		t.Fatalf("%d spans exported after Shutdown, want the buffered one", n)
	}
	// Calls after Shutdown are harmless no-ops.
	tel.RecordCache(context.Background(), true)
	tel.SetBreakerState("cf", "open")
	_, span = tel.Tracer("").Start(context.Background(), "late")
	span.End()
}

func TestEchoMiddlewareSeesRecoveredPanic(t *testing.T) {
	tel, exp := newTest(t)
	e := echo.New()
	e.Use(tel.EchoMiddleware(), middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}))
	e.GET("/v1/panic", func(echo.Context) error { panic("boom") })
	if rec := serve(e, http.MethodGet, "/v1/panic", nil); rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if spans := exp.GetSpans(); len(spans) != 1 || spans[0].Status.Code != codes.Error {
		t.Fatalf("want one server span with status Error, got %v", spans)
	}
	if out := scrape(t, tel); !strings.Contains(out, `route="/v1/panic",status="500"`) {
		t.Fatal("the histogram did not record the 500")
	}
}

// With nothing to receive spans (no endpoint, no processor), spans are not
// recorded, yet each has a trace id for the logs, and an incoming
// traceparent's trace carries on.
func TestNoReceiverRecordsNothingButKeepsTraceIDs(t *testing.T) {
	tel, err := New(context.Background(), Config{SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	_, span := tel.Tracer("").Start(context.Background(), "x")
	if span.IsRecording() || !span.SpanContext().TraceID().IsValid() || !span.SpanContext().SpanID().IsValid() {
		t.Errorf("local root: recording %v, span context %+v; want not recording, valid ids", span.IsRecording(), span.SpanContext())
	}
	span.End()
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled, Remote: true})
	_, child := tel.Tracer("").Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "y")
	if child.IsRecording() || child.SpanContext().TraceID() != parent.TraceID() {
		t.Errorf("under a remote parent: recording %v, trace %v; want not recording, trace %v", child.IsRecording(), child.SpanContext().TraceID(), parent.TraceID())
	}
	child.End()
}
