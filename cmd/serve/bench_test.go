package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/api"
	"github.com/tailorhq/tailor/telemetry"
)

// BenchmarkHTTPRecommend measures POST /v1/recommendations through the whole
// handler (request id, telemetry, access log, decode, validate, the flow,
// encode) in-process, on the real models and data, with the server's log
// stack writing to io.Discard and a telemetry without exporters.
func BenchmarkHTTPRecommend(b *testing.B) {
	// The answer cache would answer the same few bodies from memory: off,
	// so that the flow itself is measured. The model deadline is the
	// production default (empty: unset), not the tests' generous one.
	cfg, err := parse([]string{"serve"}, testEnv(b, map[string]string{"TAILOR_ANSWER_CACHE_TTL": "0", "TAILOR_MODEL_TIMEOUT": ""}), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(api.LogHandler(telemetry.NewLogHandler(slog.NewJSONHandler(io.Discard, nil))))
	tel, err := telemetry.New(b.Context(), cfg.telemetry, telemetry.WithLogger(log))
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	a := newApp(cfg, log, tel)
	defer a.close()
	if err := a.build(b.Context(), cfg, log, tel); err != nil {
		b.Fatal(err)
	}
	a.ready.Store(true)
	bodies := []string{
		`{"user_id":"17850","k":10}`,
		`{"user_id":"12347","k":10,"mode":"discover"}`,
		`{"user_id":"13047","k":10}`,
		`{"user_id":"nobody","k":10}`,
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/recommendations", strings.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		i++
	}
}
