package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys added by the handler of NewLogHandler.
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)

// NewLogHandler wraps next so that every record logged with a context that
// carries a valid span context (logger.InfoContext(ctx, ...)) gets trace_id
// and span_id, as top-level attributes even under WithGroup. cmd/serve uses
//
//	slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(stderr, nil)))
func NewLogHandler(next slog.Handler) slog.Handler {
	return &logHandler{root: next, cur: next}
}

// logHandler keeps the handler as it was before the first WithGroup (root)
// and the operations applied since, so that trace ids can be added outside
// every group.
type logHandler struct {
	root slog.Handler // next, with the attrs added before the first group
	cur  slog.Handler // root with ops applied
	ops  []func(slog.Handler) slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.cur.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return h.cur.Handle(ctx, r)
	}
	ids := []slog.Attr{slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String())}
	if len(h.ops) == 0 {
		r = r.Clone()
		r.AddAttrs(ids...)
		return h.cur.Handle(ctx, r)
	}
	// Inside a group: put the ids on the handler before the group opens.
	next := h.root.WithAttrs(ids)
	for _, op := range h.ops {
		next = op(next)
	}
	return next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	if len(h.ops) == 0 {
		n := h.root.WithAttrs(as)
		return &logHandler{root: n, cur: n}
	}
	return h.with(func(n slog.Handler) slog.Handler { return n.WithAttrs(as) })
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(func(n slog.Handler) slog.Handler { return n.WithGroup(name) })
}

func (h *logHandler) with(op func(slog.Handler) slog.Handler) *logHandler {
	ops := append(h.ops[:len(h.ops):len(h.ops)], op)
	return &logHandler{root: h.root, cur: op(h.cur), ops: ops}
}
