package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/api/apitest"
	"github.com/tailorhq/tailor/recommend"
)

// fakeRecommender records the requests it gets and answers with fn, or with
// a fixed two-item answer.
type fakeRecommender struct {
	mu  sync.Mutex
	got []recommend.Request
	fn  func(ctx context.Context, req recommend.Request) (recommend.Response, error)
}

func (f *fakeRecommender) Recommend(ctx context.Context, req recommend.Request) (recommend.Response, error) {
	f.mu.Lock()
	f.got = append(f.got, req)
	f.mu.Unlock()
	if f.fn != nil {
		return f.fn(ctx, req)
	}
	return recommend.Response{
		Items: []recommend.Item{
			{ID: "85123A", Title: "WHITE HANGING HEART T-LIGHT HOLDER", Price: 2.55, Category: "candles", Score: 0.91, Rank: 1, Source: "cf@20111101.d9a8bd95", Reasons: []string{"bought 12 times before"}},
			{ID: "22423", Title: "REGENCY CAKESTAND 3 TIER", Price: 10.95, Category: "kitchen", Score: 0.5, Rank: 2, Source: "popular", Reasons: nil},
		},
		Models: []string{"cf@20111101.d9a8bd95", "propensity@20111101.0a1b2c3d"},
	}, nil
}

func (f *fakeRecommender) last(t *testing.T) recommend.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the recommender was not called")
	}
	return f.got[len(f.got)-1]
}

type fakeReadiness struct {
	ready  bool
	detail string
}

func (f fakeReadiness) Ready() (bool, string) { return f.ready, f.detail }

type fakeModels []ModelInfo

func (f fakeModels) Models() []ModelInfo { return f }

type fakeTelemetry struct{ calls *int }

func (f fakeTelemetry) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			*f.calls++
			return next(c)
		}
	}
}

func (f fakeTelemetry) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "tailor_requests_total 1\n")
	})
}

// syncBuffer collects log lines from the server.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	e    *echo.Echo
	rec  *fakeRecommender
	logs *syncBuffer
	doc  *apitest.Document
}

func newHarness(t *testing.T, cfg Config, deps Deps) *harness {
	h := &harness{rec: &fakeRecommender{}, logs: &syncBuffer{}, doc: loadOpenAPI(t)}
	if deps.Recommender == nil {
		deps.Recommender = h.rec
	}
	deps.Logger = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.e = New(cfg, deps)
	return h
}

// do sends one request, holds the response against the OpenAPI document
// and returns it.
func (h *harness) do(t *testing.T, method, path, contentType, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	checkResponse(t, h.doc, method, path, rec)
	return rec
}

func decodeBody[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body: %v\n%s", err, rec.Body)
	}
	return v
}

// recommendationResponse is the answer as a client decodes it.
type recommendationResponse struct {
	RequestID string `json:"request_id"`
	recommend.Response
}

func TestRecommendationsDefaultsAndResponse(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	rec := h.do(t, "POST", "/v1/recommendations", "application/json", `{"user_id":"17850"}`, HeaderRequestID, "chat-42")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	got := h.rec.last(t)
	if got.K != 10 || got.Mode != recommend.ModeAuto || got.UserID != "17850" {
		t.Errorf("recommender got %+v, want k=10 mode=auto user 17850", got)
	}
	body := decodeBody[recommendationResponse](t, rec)
	if body.RequestID != "chat-42" || len(body.Items) != 2 || body.Items[1].Reasons == nil || len(body.Models) != 2 {
		t.Errorf("response %+v", body)
	}
	if !strings.Contains(h.logs.String(), `"request_id":"chat-42"`) {
		t.Errorf("access log lacks the request id:\n%s", h.logs)
	}
}

func TestRecommendationsEveryField(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	body := `{"user_id":"12347","session_id":"s-1","k":3,"mode":"discover",
		"context":{"device":"mobile","country":"Iceland","intent":"gift","query":"red candle","current_item":"85123A"},
		"filters":{"exclude":["22423"],"min_price":1,"max_price":5.5,"categories":["candles & lights","kitchen & dining"],"in_stock_only":false},
		"diversity":{"max_per_category":2},"explain":true}`
	if err := h.doc.Validate("#/components/schemas/RecommendationRequest", mustParse(t, body)); err != nil {
		t.Fatalf("the example request does not match the document: %v", err)
	}
	rec := h.do(t, "POST", "/v1/recommendations", "application/json; charset=utf-8", body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := h.rec.last(t)
	if got.K != 3 || got.Mode != recommend.ModeDiscover || got.SessionID != "s-1" || !got.Explain ||
		got.Context["query"] != "red candle" || len(got.Context) != 5 ||
		got.Filters.MaxPrice == nil || *got.Filters.MaxPrice != 5.5 ||
		got.Filters.MinPrice == nil || *got.Filters.MinPrice != 1 || got.Filters.InStockOnly == nil || *got.Filters.InStockOnly ||
		got.Diversity.MaxPerCategory != 2 ||
		strings.Join(got.Filters.Exclude, ",") != "22423" || strings.Join(got.Filters.Categories, ",") != "candles & lights,kitchen & dining" {
		t.Errorf("recommender got %+v", got)
	}
}

func TestRecommendationsDegradedAnswer(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	h.rec.fn = func(context.Context, recommend.Request) (recommend.Response, error) {
		return recommend.Response{Degraded: true, FallbackReason: "cf_model_unavailable: timeout"}, nil
	}
	rec := h.do(t, "POST", "/v1/recommendations", "application/json", `{}`)
	body := decodeBody[map[string]any](t, rec)
	if rec.Code != http.StatusOK || body["degraded"] != true || body["fallback_reason"] != "cf_model_unavailable: timeout" {
		t.Errorf("status %d body %v", rec.Code, body)
	}
	if items, ok := body["items"].([]any); !ok || len(items) != 0 {
		t.Errorf("items %v, want []", body["items"])
	}
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	for _, tc := range []struct{ name, sent string }{
		{"absent", ""},
		{"too long", strings.Repeat("a", 129)},
		{"unsafe characters", "id with spaces\x7f"},
	} {
		rec := h.do(t, "GET", "/healthz", "", "", HeaderRequestID, tc.sent)
		if got := rec.Header().Get(HeaderRequestID); !generatedID.MatchString(got) {
			t.Errorf("%s: generated id %q, want 32 hex digits", tc.name, got)
		}
	}
	a := h.do(t, "GET", "/healthz", "", "").Header().Get(HeaderRequestID)
	b := h.do(t, "GET", "/healthz", "", "").Header().Get(HeaderRequestID)
	if a == b {
		t.Errorf("two generated ids are equal: %s", a)
	}
	for _, sent := range []string{"chat-42", "0f8fad5b-d9cb-469f-a165-70867728950e", "a:b.c_d"} {
		if got := h.do(t, "GET", "/healthz", "", "", HeaderRequestID, sent).Header().Get(HeaderRequestID); got != sent {
			t.Errorf("sent %q, echoed %q", sent, got)
		}
	}
	var seen string
	h.rec.fn = func(ctx context.Context, _ recommend.Request) (recommend.Response, error) {
		seen = RequestID(ctx)
		return recommend.Response{}, nil
	}
	h.do(t, "POST", "/v1/recommendations", "application/json", `{}`, HeaderRequestID, "ctx-1")
	if seen != "ctx-1" {
		t.Errorf("RequestID(ctx) in the recommender = %q, want ctx-1", seen)
	}
	if RequestID(context.Background()) != "" {
		t.Error("RequestID outside a request is not empty")
	}
}

func mustParse(t *testing.T, s string) any {
	t.Helper()
	v, err := parseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
