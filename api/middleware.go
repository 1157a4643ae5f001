package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
)

// HeaderRequestID is the request id header, read from requests and always
// set on responses.
const HeaderRequestID = "X-Request-ID"

type requestIDKey struct{}

// RequestID returns the request id that the request id middleware put in
// ctx, or "" outside a request.
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID runs first: it takes the caller's X-Request-ID when it is a sane
// token (1 to 128 characters of letters, digits and "-_.:"), generates one
// otherwise (32 hex digits), echoes it and puts it in the context.
func (s *server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(HeaderRequestID, id)
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		return next(c)
	}
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, ch := range []byte(id) {
		ok := 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
			ch == '-' || ch == '_' || ch == '.' || ch == ':'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// recoverPanics turns a panic below it into a 500 problem and logs the panic
// with its stack. http.ErrAbortHandler is re-panicked, as net/http expects.
func (s *server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = &Error{Kind: KindInternal, Detail: "internal error; report the request_id", Err: fmt.Errorf("panic: %v", v)}
		}()
		return next(c)
	}
}

// commitErrors writes the problem for an error right away (through the one
// error handler), so that the middleware around it (telemetry, access log)
// sees the final status.
func (s *server) commitErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			c.Error(err)
		}
		return nil
	}
}

// accessLog logs one line per request; probes and metrics scrapes at debug.
func (s *server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil && !c.Response().Committed {
			status = asError(err).Kind.Status()
		}
		level := slog.LevelInfo
		switch c.Path() {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		r := c.Request()
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", c.Path()),
			slog.Int("status", status),
			slog.Int64("bytes", c.Response().Size),
			slog.Duration("duration", time.Since(start)))
		return err
	}
}

// bodyLimit refuses a body over Config.BodyLimit: at once when
// Content-Length says so, or when the handler reads past the limit
// (http.MaxBytesError, mapped to a 413 problem by the error handler).
func (s *server) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.cfg.BodyLimit {
			return tooLarge(s.cfg.BodyLimit)
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, s.cfg.BodyLimit)
		}
		return next(c)
	}
}

// LogHandler wraps h so that every record logged with a request's context
// carries "request_id". New applies it to Deps.Logger; cmd/serve can apply it
// to the logger it gives the rest of the server. Wrapping twice is a no-op.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
