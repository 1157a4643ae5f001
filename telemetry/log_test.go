package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func decodeLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	tel, _ := newTest(t)
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx, span := tel.Tracer("").Start(context.Background(), "op")
	sc := span.SpanContext()

	log.InfoContext(ctx, "in span", "k", 1)
	log.WithGroup("req").With("id", "r1").InfoContext(ctx, "grouped", "k", 2)
	log.InfoContext(context.Background(), "no span")
	log.Info("no context")
	span.End()

	lines := decodeLines(t, &buf)
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4", len(lines))
	}
	for i, l := range lines[:2] {
		if l[LogTraceID] != sc.TraceID().String() || l[LogSpanID] != sc.SpanID().String() {
			t.Errorf("line %d: trace_id %v span_id %v, want %s %s at top level", i, l[LogTraceID], l[LogSpanID],
				sc.TraceID(), sc.SpanID())
		}
		if l["component"] != "test" {
			t.Errorf("line %d lost the handler's attributes: %v", i, l)
		}
	}
	if g, _ := lines[1]["req"].(map[string]any); g["id"] != "r1" || g["k"] != 2.0 {
		t.Errorf("grouped line: %v", lines[1])
	}
	for _, l := range lines[2:] {
		if _, ok := l[LogTraceID]; ok {
			t.Errorf("line without span has a trace_id: %v", l)
		}
	}
}

func TestLogHandlerRemoteSpanContext(t *testing.T) {
	// An extracted traceparent alone (no local span yet) is enough.
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	tid, _ := trace.TraceIDFromHex(incomingTraceID)
	sid, _ := trace.SpanIDFromHex(incomingSpanID)
	ctx := trace.ContextWithRemoteSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}))
	log.WarnContext(ctx, "x")
	if l := decodeLines(t, &buf)[0]; l[LogTraceID] != incomingTraceID {
		t.Fatalf("trace_id %v", l[LogTraceID])
	}
}

func TestLogHandlerEnabledFollowsNext(t *testing.T) {
	h := NewLogHandler(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the wrapped handler's level")
	}
}

func TestBreakerTransitionLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	tel, _ := newTest(t, WithLogger(log))
	ctx, span := tel.Tracer("").Start(context.Background(), "call")
	tel.BreakerTransition(ctx, "propensity", "open", "half-open")
	span.End()
	l := decodeLines(t, &buf)[0]
	if l["breaker"] != "propensity" || l["from"] != "open" || l["to"] != "half-open" ||
		l[LogTraceID] != span.SpanContext().TraceID().String() {
		t.Fatalf("log line %v", l)
	}
}
