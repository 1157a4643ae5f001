package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Kind is what went wrong, independent of HTTP. Kind.Status is the one table
// from kinds to statuses.
type Kind string

// The kinds of error the API reports.
const (
	KindInvalid          Kind = "invalid"            // 400: bad input; Fields says which
	KindNotFound         Kind = "not_found"          // 404
	KindMethodNotAllowed Kind = "method_not_allowed" // 405
	KindTooLarge         Kind = "too_large"          // 413: body over Config.BodyLimit
	KindUnsupportedMedia Kind = "unsupported_media"  // 415: not application/json
	KindUnavailable      Kind = "unavailable"        // 503: not ready, or out of time
	KindInternal         Kind = "internal"           // 500: a bug; the cause is logged, not shown
)

// Status is the HTTP status of a kind: the single table of the package.
func (k Kind) Status() int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindNotFound:
		return http.StatusNotFound
	case KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// kindOfStatus reads Kind.Status backwards, for the statuses Echo itself
// produces (404 and 405 from its router).
func kindOfStatus(status int) Kind {
	for _, k := range []Kind{KindInvalid, KindNotFound, KindMethodNotAllowed, KindTooLarge, KindUnsupportedMedia, KindUnavailable} {
		if k.Status() == status {
			return k
		}
	}
	return KindInternal
}

// FieldError names one bad field of a request. Field is a dotted path
// ("k", "filters.max_price", "filters.exclude[2]", "context.device"); the
// empty string means the body as a whole (empty, malformed, not an object).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the API's error: a kind, a detail safe to show to the caller,
// the bad fields of an invalid request, and an optional cause that is logged
// but never shown.
type Error struct {
	Kind   Kind
	Detail string
	Fields []FieldError
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Kind, e.Detail)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// asError turns any error a handler or middleware returns into an *Error.
func asError(err error) *Error {
	var e *Error
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindUnavailable, Detail: "the recommendation did not finish in time; retry shortly", Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindUnavailable, Detail: "the request was cancelled before it finished", Err: err}
	case errors.As(err, &he):
		return &Error{Kind: kindOfStatus(he.Code), Detail: fmt.Sprint(he.Message), Err: err}
	default:
		return &Error{Kind: KindInternal, Detail: "internal error; report the request_id", Err: err}
	}
}

func tooLarge(limit int64) *Error {
	return &Error{Kind: KindTooLarge, Detail: fmt.Sprintf("the request body is larger than %d bytes", limit)}
}

// problem is the RFC 9457 body of every error response.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	RequestID string       `json:"request_id"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// handleError is Echo's HTTPErrorHandler: the one place an error becomes a
// response. Internal errors are logged with their cause.
func (s *server) handleError(err error, c echo.Context) {
	ctx := c.Request().Context()
	e := asError(err)
	status := e.Kind.Status()
	switch e.Kind {
	case KindInternal:
		s.log.ErrorContext(ctx, "request failed", "kind", string(e.Kind), "err", err)
	case KindUnavailable:
		if e.Err == nil { // not ready: the probe says so, no need to log it too
			break
		}
		s.log.WarnContext(ctx, "request unavailable", "err", err)
	}
	if c.Response().Committed {
		s.log.WarnContext(ctx, "error after the response was sent", "kind", string(e.Kind), "err", err)
		return
	}
	detail := e.Detail
	if detail == "" {
		detail = http.StatusText(status)
	}
	if e.Kind == KindNotFound && errors.Is(err, echo.ErrNotFound) {
		detail = "no resource at " + c.Request().URL.Path
	}
	if e.Kind == KindMethodNotAllowed {
		detail = fmt.Sprintf("%s is not allowed on %s; allowed: %s", c.Request().Method, c.Request().URL.Path, c.Response().Header().Get(echo.HeaderAllow))
	}
	if e.Kind == KindUnavailable {
		// Loading takes about a second and a slow answer is retried at
		// once; either way a client may try again after a second.
		c.Response().Header().Set("Retry-After", "1")
	}
	p := problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		RequestID: RequestID(ctx),
		Errors:    e.Fields,
	}
	body, merr := json.Marshal(p)
	if merr != nil { // cannot happen with these field types; keep a body anyway
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"cannot encode the problem","request_id":""}`)
		status = http.StatusInternalServerError
	}
	if werr := blob(c, status, "application/problem+json", append(body, '\n')); werr != nil {
		s.log.DebugContext(ctx, "write problem", "err", werr)
	}
}

// invalid is a 400 problem naming the bad fields.
func invalid(fields []FieldError) *Error {
	parts := make([]string, 0, len(fields))
	for i, f := range fields {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(fields)-3))
			break
		}
		name := f.Field
		if name == "" {
			name = "body"
		}
		parts = append(parts, name+": "+f.Message)
	}
	return &Error{Kind: KindInvalid, Detail: "invalid request: " + strings.Join(parts, "; "), Fields: fields}
}

// compareFields orders field paths as text, but with runs of digits
// compared as numbers, so that items[2] comes before items[10]: the errors
// kept under maxFieldErrors are then the first elements' errors.
func compareFields(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		dx, dy := digitRun(x), digitRun(y)
		if dx > 0 && dy > 0 {
			nx, ny := strings.TrimLeft(x[:dx], "0"), strings.TrimLeft(y[:dy], "0")
			if c := cmp.Or(cmp.Compare(len(nx), len(ny)), strings.Compare(nx, ny)); c != 0 {
				return c
			}
			x, y = x[dx:], y[dy:]
			continue
		}
		if x[0] != y[0] {
			return cmp.Compare(x[0], y[0])
		}
		x, y = x[1:], y[1:]
	}
	return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(a, b))
}

// digitRun is the length of the run of ASCII digits that s starts with.
func digitRun(s string) int {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n
}
