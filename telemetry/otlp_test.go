package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is a loopback OTLP/HTTP receiver that keeps what it is sent.
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD /path"
	spans    []string // span names
	metrics  []string // metric names
	headers  []http.Header
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.requests = append(c.requests, r.Method+" "+r.URL.Path)
		c.headers = append(c.headers, r.Header.Clone())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/v1/traces":
			var req coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rs := range req.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						c.spans = append(c.spans, s.Name)
					}
				}
			}
		case "/v1/metrics":
			var req colmetricpb.ExportMetricsServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rm := range req.ResourceMetrics {
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						c.metrics = append(c.metrics, m.Name)
					}
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(c.Close)
	return c
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestOTLPExportOverHTTP(t *testing.T) {
	col := newCollector(t)
	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{
			EnvServiceName: "tailor-otlp", EnvEndpoint: col.URL, EnvHeaders: "x-tenant=shop1",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	tel, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	serve(newEcho(tel), http.MethodPost, "/v1/items/1", map[string]string{"traceparent": traceparent})
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if !contains(col.requests, "POST /v1/traces") || !contains(col.requests, "POST /v1/metrics") {
		t.Fatalf("collector got %v, want POST /v1/traces and POST /v1/metrics", col.requests)
	}
	for _, name := range []string{"POST /v1/items/:id", SpanFeatures, SpanInference, SpanFallback} {
		if !contains(col.spans, name) {
			t.Errorf("exported spans %v lack %q", col.spans, name)
		}
	}
	for _, name := range []string{MetricHTTPDuration, MetricInferenceDuration, MetricFallbacks} {
		if !contains(col.metrics, name) {
			t.Errorf("exported metrics %v lack %q", col.metrics, name)
		}
	}
	for _, h := range col.headers {
		if h.Get("x-tenant") != "shop1" {
			t.Errorf("request without the configured header: %v", h)
		}
	}
}

func TestNoEndpointSendsNothing(t *testing.T) {
	col := newCollector(t)
	// The exporters' own environment lookups must not turn export on behind
	// cmd/serve's back: only Config decides.
	t.Setenv(EnvEndpoint, col.URL)
	t.Setenv(EnvTracesEndpoint, col.URL+"/v1/traces")
	t.Setenv(EnvMetricsEndpoint, col.URL+"/v1/metrics")
	tel, err := New(context.Background(), Config{SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	serve(newEcho(tel), http.MethodPost, "/v1/items/1", nil)
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 0 {
		t.Fatalf("nothing configured, yet the collector got %v", col.requests)
	}
}

func TestDisabledSendsNothing(t *testing.T) {
	col := newCollector(t)
	tel, err := New(context.Background(), Config{SampleRatio: 1, Disabled: true,
		OTLPEndpoint: col.URL + "/v1/traces", OTLPMetricsEndpoint: col.URL + "/v1/metrics"})
	if err != nil {
		t.Fatal(err)
	}
	serve(newEcho(tel), http.MethodPost, "/v1/items/1", nil)
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 0 {
		t.Fatalf("disabled, yet the collector got %v", col.requests)
	}
}
