// Package api is Tailor's HTTP edge: POST /v1/recommendations, POST /v1/rank,
// GET /v1/items/{id}/similar and the operational endpoints (/healthz, /readyz, /v1/models, /metrics,
// /openapi.json), served by Echo.
//
// The conventions, held by tests against the embedded OpenAPI 3.1 document:
//   - every error is an RFC 9457 application/problem+json body with type,
//     title, status, detail and request_id, plus errors[] naming each bad
//     field for a validation problem; a panic becomes a 500 problem, never an
//     empty response;
//   - X-Request-ID is echoed when it is a sane token, generated otherwise,
//     and carried in the request's context (RequestID) and in every log line
//     written through LogHandler;
//   - handlers decode, validate, call one method and encode; they return
//     errors, and one error handler maps error kinds to statuses through one
//     table (Kind.Status).
//
// The consumer-side interfaces below (Recommender, Ranker, SimilarItems, Readiness,
// ModelLister, Telemetry) are all this package needs from the rest of the server.
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/recommend"
	"github.com/tailorhq/tailor/similar"
)

// DefaultBodyLimit is the request body limit when Config.BodyLimit is not set.
const DefaultBodyLimit = 64 << 10

// Recommender answers one recommendation request. An error wrapping
// context.DeadlineExceeded or context.Canceled becomes a 503 problem; any
// other error that is not an *Error becomes a 500 problem whose detail hides
// the cause (the cause is logged with the request id).
type Recommender interface {
	Recommend(ctx context.Context, req recommend.Request) (recommend.Response, error)
}

// Ranker orders a caller's candidate items for one customer (POST
// /v1/rank). Its errors are treated as for Recommender.
type Ranker interface {
	Rank(ctx context.Context, req recommend.RankRequest) (recommend.RankResponse, error)
}

// SimilarItems answers "customers who bought this also bought" and "like
// this one" for one item id, with up to k items. An unknown id must be an
// *Error of KindNotFound (a 404 problem); other errors are treated as for
// Recommender.
type SimilarItems interface {
	Similar(ctx context.Context, id string, k int) (similar.Response, error)
}

// AnswerCache keeps encoded answers to recommendation requests;
// *recommend.AnswerCache implements it. Lookup returns a cached body, or the
// key to Store the answer under ("" when the request must not be cached).
// A body is the answer's JSON object without request_id.
type AnswerCache interface {
	Lookup(ctx context.Context, req recommend.Request) (body []byte, key string, hit bool)
	Store(key string, resp recommend.Response, body []byte)
}

var _ AnswerCache = (*recommend.AnswerCache)(nil)

// Readiness says whether the server should take traffic: false until every
// model is loaded and warmed, and again while draining. detail says why, in
// a few words.
type Readiness interface {
	Ready() (ready bool, detail string)
}

// ModelLister lists the models being served.
type ModelLister interface {
	Models() []ModelInfo
}

// ModelInfo describes one served model, as GET /v1/models shows it.
type ModelInfo struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`       // "cf" or "propensity"
	TrainedAt string `json:"trained_at"` // as the model's metadata says
	DataRange string `json:"data_range"` // as the model's metadata says
}

// Telemetry is the slot for tracing and metrics. Both methods may return
// nil: no middleware, and a 404 problem at /metrics.
type Telemetry interface {
	// Middleware runs for every request, after the request id is set and
	// with the final status already written (errors are turned into
	// problems further in), so a span or a histogram sees the real status.
	Middleware() echo.MiddlewareFunc
	// MetricsHandler serves GET /metrics (Prometheus text format).
	MetricsHandler() http.Handler
}

// Config is the HTTP edge's own configuration, filled by cmd/serve.
type Config struct {
	// BodyLimit is the largest request body in bytes; a larger one is a 413
	// problem. Zero or less means DefaultBodyLimit.
	BodyLimit int64
}

// Deps are the collaborators. Every field is optional: a nil Recommender
// makes POST /v1/recommendations a 503 problem, so does a nil Ranker for
// POST /v1/rank and a nil Similar for GET /v1/items/{id}/similar; a nil
// Readiness means always ready, a nil ModelLister lists no models, a nil Logger discards logs and a
// nil Telemetry adds nothing.
type Deps struct {
	Recommender Recommender
	Answers     AnswerCache // nil: every request goes to Recommender
	Ranker      Ranker
	Similar     SimilarItems
	Readiness   Readiness
	Models      ModelLister
	Logger      *slog.Logger
	Telemetry   Telemetry
	// Middleware runs after Telemetry's, in order, for every request.
	Middleware []echo.MiddlewareFunc
}

// server holds what the handlers and middleware share; it is read-only after
// New.
type server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
}

// New returns the HTTP handler with every route of routes.go. The Echo
// instance logs nothing of its own: its logger is silenced, and the access
// log, panics and internal errors go to deps.Logger (with request_id).
func New(cfg Config, deps Deps) *echo.Echo {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	h := slog.DiscardHandler
	if deps.Logger != nil {
		h = deps.Logger.Handler()
	}
	s := &server{cfg: cfg, deps: deps, log: slog.New(LogHandler(h))}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	e.StdLogger = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	e.Server.ErrorLog = e.StdLogger
	e.HTTPErrorHandler = s.handleError
	s.routes(e)
	return e
}
