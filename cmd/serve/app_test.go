package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tailorhq/tailor/telemetry"
)

// builtApp is the server's handler as run builds it from env, without a
// listener; it is closed when the test ends.
func builtApp(t *testing.T, env map[string]string, opts ...telemetry.Option) *app {
	t.Helper()
	cfg, err := parse([]string{"serve"}, testEnv(t, env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tel, err := telemetry.New(t.Context(), cfg.telemetry, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	log := discardLogger()
	a := newApp(cfg, log, tel)
	t.Cleanup(a.close)
	if err := a.build(t.Context(), cfg, log, tel); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSpanTree sends one request through the wired server with an in-memory
// span exporter and checks the tree: the HTTP span, with the feature fetch
// (cache hit or miss), each inference (model name@version) and the blend
// under it, all in the trace the caller's traceparent named.
func TestSpanTree(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	a := builtApp(t, nil, telemetry.WithSpanExporter(mem))
	req := httptest.NewRequest(http.MethodPost, "/v1/recommendations", strings.NewReader(`{"user_id":"17850","k":3}`))
	req.Header.Set("Content-Type", "application/json")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	spans := mem.GetSpans()
	byName := map[string][]tracetest.SpanStub{}
	var root tracetest.SpanStub
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
		if s.SpanContext.TraceID().String() != traceID {
			t.Errorf("span %s is in trace %s, not the caller's", s.Name, s.SpanContext.TraceID())
		}
		if s.Name == "POST /v1/recommendations" {
			root = s
		}
	}
	if root.Name == "" {
		t.Fatalf("no server span among %v", spanNames(spans))
	}
	attr := func(s tracetest.SpanStub, key string) string {
		for _, kv := range s.Attributes {
			if string(kv.Key) == key {
				return kv.Value.Emit()
			}
		}
		return ""
	}
	for _, want := range []struct{ name, key, value string }{
		{telemetry.SpanFeatures, string(telemetry.AttrCacheHit), "false"},
		{telemetry.SpanInference, string(telemetry.AttrModel), "cf@"},
		{telemetry.SpanInference, string(telemetry.AttrModel), "propensity@"},
		{telemetry.SpanBlend, "", ""},
	} {
		found := false
		for _, s := range byName[want.name] {
			if s.Parent.SpanID() != root.SpanContext.SpanID() {
				t.Errorf("%s is not a child of the server span", s.Name)
			}
			if want.key == "" || strings.HasPrefix(attr(s, want.key), want.value) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s span with %s=%s*; spans: %v", want.name, want.key, want.value, spanNames(spans))
		}
	}
	for _, s := range byName[telemetry.SpanInference] {
		if strings.HasPrefix(attr(s, string(telemetry.AttrModel)), "propensity@") && attr(s, string(telemetry.AttrFeaturesDefaulted)) == "" {
			t.Errorf("the propensity span does not record how many features took their default")
		}
		if attr(s, string(telemetry.AttrBreakerState)) != "closed" || attr(s, string(telemetry.AttrOutcome)) != "ok" {
			t.Errorf("inference span %s: breaker %q outcome %q", attr(s, string(telemetry.AttrModel)),
				attr(s, string(telemetry.AttrBreakerState)), attr(s, string(telemetry.AttrOutcome)))
		}
	}
}

func spanNames(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

// TestOwnOrderWeightReachesTheBlend: TAILOR_OWN_ORDER_WEIGHT is the weight
// the served flow blends with. By default an auto answer's score is the
// blend (the top item scores 1, its propensity less); a negative weight
// turns the blend off, and every score is then the model's probability.
func TestOwnOrderWeightReachesTheBlend(t *testing.T) {
	for _, tc := range []struct {
		weight  string
		blended bool
	}{{"", true}, {"-1", false}} {
		t.Run("weight "+cmp.Or(tc.weight, "default"), func(t *testing.T) {
			a := builtApp(t, map[string]string{"TAILOR_OWN_ORDER_WEIGHT": tc.weight})
			req := httptest.NewRequest(http.MethodPost, "/v1/recommendations", strings.NewReader(`{"user_id":"17850","k":5,"explain":true}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			a.handler.ServeHTTP(rec, req)
			var r recResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != 200 || len(r.Items) != 5 {
				t.Fatalf("status %d, %v: %s", rec.Code, err, rec.Body)
			}
			differ := 0
			for _, it := range r.Items {
				var score, prob float64
				why := it.Reasons[len(it.Reasons)-1]
				if _, err := fmt.Sscanf(why, "score %g; propensity %g;", &score, &prob); err != nil {
					t.Fatalf("explain line %q: %v", why, err)
				}
				if score != prob {
					differ++
				}
			}
			if blended := differ > 0; blended != tc.blended || (tc.blended && r.Items[0].Score != 1) {
				t.Errorf("weight %q: %d of 5 scores differ from the propensity, top score %g; want blended %v", tc.weight, differ, r.Items[0].Score, tc.blended)
			}
		})
	}
}
