package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

func TestMetricsExposition(t *testing.T) {
	tel, _ := newTest(t)
	e := newEcho(tel) // one request records inference, cache miss, fallback and a breaker change
	serve(e, http.MethodPost, "/v1/items/85123A", nil)
	serve(e, http.MethodGet, "/v1/fail", nil)
	serve(e, http.MethodGet, "/no/such/route", nil)
	ctx := context.Background()
	tel.RecordCache(ctx, true)
	tel.RecordCache(ctx, true)
	tel.RecordCache(ctx, true)
	tel.RecordInference(ctx, "propensity@20111101.0a1b2c3d", 2*time.Second, context.DeadlineExceeded)
	tel.RecordInference(ctx, "propensity@20111101.0a1b2c3d", time.Millisecond, errors.New("bad shape"))
	tel.SetBreakerState("propensity", "closed")
	tel.SetBreakerState("propensity", "half-open")

	out := scrape(t, tel)
	for _, want := range []string{
		"# TYPE tailor_http_request_duration_seconds histogram",
		`tailor_http_request_duration_seconds_count{method="POST",route="/v1/items/:id",status="200"} 1`,
		`tailor_http_request_duration_seconds_count{method="GET",route="/v1/fail",status="503"} 1`,
		`tailor_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		`tailor_http_request_duration_seconds_bucket{method="POST",route="/v1/items/:id",status="200",le="0.0001"}`,
		"# TYPE tailor_model_inference_duration_seconds histogram",
		`tailor_model_inference_duration_seconds_count{model="cf@20111101.d9a8bd95",outcome="ok"} 1`,
		`tailor_model_inference_duration_seconds_bucket{model="cf@20111101.d9a8bd95",outcome="ok",le="1e-05"} 0`,
		`tailor_model_inference_duration_seconds_bucket{model="cf@20111101.d9a8bd95",outcome="ok",le="5e-05"} 1`,
		`tailor_model_inference_duration_seconds_count{model="propensity@20111101.0a1b2c3d",outcome="timeout"} 1`,
		`tailor_model_inference_duration_seconds_count{model="propensity@20111101.0a1b2c3d",outcome="error"} 1`,
		"# TYPE tailor_feature_cache_hits_total counter",
		"tailor_feature_cache_hits_total 3",
		"tailor_feature_cache_misses_total 1",
		"# TYPE tailor_feature_cache_hit_ratio gauge",
		"tailor_feature_cache_hit_ratio 0.75",
		"# TYPE tailor_breaker_state gauge",
		`tailor_breaker_state{breaker="cf"} 2`,
		`tailor_breaker_state{breaker="propensity"} 1`,
		"# TYPE tailor_breaker_transitions_total counter",
		`tailor_breaker_transitions_total{breaker="cf",from="closed",to="open"} 1`,
		`tailor_breaker_transitions_total{breaker="propensity",from="closed",to="half-open"} 1`,
		"# TYPE tailor_fallbacks_total counter",
		`tailor_fallbacks_total{reason="model_timeout"} 1`,
		"go_goroutines",
		"process_cpu_seconds_total",
		`target_info{service_name="tailor-test",service_version="v0"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", out)
	}
}

func TestMetricsRegistryIsOwn(t *testing.T) {
	// Two instances in one process must not collide on a shared registry.
	a, _ := newTest(t)
	b, _ := newTest(t)
	a.RecordFallback(context.Background(), "only_a")
	if strings.Contains(scrape(t, b), "only_a") {
		t.Fatal("b's /metrics shows a's fallback")
	}
	if !strings.Contains(scrape(t, a), `tailor_fallbacks_total{reason="only_a"} 1`) {
		t.Fatal("a's /metrics lacks its fallback")
	}
}
