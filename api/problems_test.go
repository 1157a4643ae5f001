package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/recommend"
)

type problemBody struct {
	Type, Title, Detail string
	Status              int
	RequestID           string `json:"request_id"`
	Errors              []FieldError
}

func fields(p problemBody) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

func TestBadInput(t *testing.T) {
	const ct = "application/json"
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		fields                  []string // errors[].field, in order
		message                 string   // of the first field error, when set
	}{
		{"malformed JSON", ct, `{"k":`, 400, []string{""}, ""},
		{"trailing data", ct, `{} {}`, 400, []string{""}, ""},
		{"empty body", ct, ``, 400, []string{""}, "the body is empty; send a JSON object"},
		{"array body", ct, `[{"k":1}]`, 400, []string{""}, "must be a JSON object"},
		{"null body", ct, `null`, 400, []string{""}, "must be a JSON object"},
		{"k as a string", ct, `{"k":"10"}`, 400, []string{"k"}, "must be an integer"},
		{"k fractional", ct, `{"k":2.5}`, 400, []string{"k"}, "must be an integer"},
		{"k zero", ct, `{"k":0}`, 400, []string{"k"}, "must be between 1 and 100"},
		{"k 1000", ct, `{"k":1000}`, 400, []string{"k"}, "must be between 1 and 100"},
		{"k overflows", ct, `{"k":1e400}`, 400, []string{"k"}, "must be between 1 and 100"},
		{"unknown mode", ct, `{"mode":"fast"}`, 400, []string{"mode"}, "must be one of auto, buy_again, discover"},
		{"empty mode", ct, `{"mode":""}`, 400, []string{"mode"}, ""},
		{"unknown field", ct, `{"user":"17850"}`, 400, []string{"user"}, "unknown field; allowed: user_id, session_id, k, mode, context, filters, diversity, explain"},
		{"field names are case sensitive", ct, `{"K":5}`, 400, []string{"K"}, ""},
		{"unknown filter", ct, `{"filters":{"max_prize":5}}`, 400, []string{"filters.max_prize"}, ""},
		{"a key twice", ct, `{"k":200,"k":1}`, 400, []string{"k"}, "given more than once"},
		{"a nested key twice", ct, `{"filters":{"max_price":1,"max_price":99}}`, 400, []string{"filters.max_price"}, "given more than once"},
		{"a session item's key twice", ct, `{"context":{"session_items":[{"item_id":"22423","item_id":"85123A","event":"view"}]}}`, 400, []string{"context.session_items[0].item_id"}, "given more than once"},
		{"user_id a number", ct, `{"user_id":17850}`, 400, []string{"user_id"}, "must be a string"},
		{"session_id an object", ct, `{"session_id":{}}`, 400, []string{"session_id"}, ""},
		{"explain a string", ct, `{"explain":"yes"}`, 400, []string{"explain"}, "must be a boolean"},
		{"context a list", ct, `{"context":["mobile"]}`, 400, []string{"context"}, ""},
		{"context value a number", ct, `{"context":{"device":"mobile","age":42}}`, 400, []string{"context.age"}, "must be a string"},
		{"filters a string", ct, `{"filters":"cheap"}`, 400, []string{"filters"}, "must be an object"},
		{"exclude a string", ct, `{"filters":{"exclude":"22423"}}`, 400, []string{"filters.exclude"}, ""},
		{"exclude with a number", ct, `{"filters":{"exclude":["22423",85123]}}`, 400, []string{"filters.exclude[1]"}, "must be a string"},
		{"exclude an empty id", ct, `{"filters":{"exclude":["22423",""]}}`, 400, []string{"filters.exclude[1]"}, "must not be empty: an item id"},
		{"negative max_price", ct, `{"filters":{"max_price":-1}}`, 400, []string{"filters.max_price"}, "must be at least 0"},
		{"max_price a string", ct, `{"filters":{"max_price":"5"}}`, 400, []string{"filters.max_price"}, "must be a number"},
		{"negative min_price", ct, `{"filters":{"min_price":-0.5}}`, 400, []string{"filters.min_price"}, "must be at least 0"},
		{"min_price a string", ct, `{"filters":{"min_price":"1"}}`, 400, []string{"filters.min_price"}, "must be a number"},
		{"min_price above max_price", ct, `{"filters":{"min_price":5,"max_price":2.5}}`, 400, []string{"filters.min_price"}, "must not be above filters.max_price (2.5)"},
		{"unknown category", ct, `{"filters":{"categories":["bags","Kitchen"]}}`, 400, []string{"filters.categories[1]"},
			`unknown category "Kitchen"; allowed: christmas, easter, candles & lights, home decor, kitchen & dining, bags, jewellery & accessories, stationery & cards, party & wrapping, toys & games, sewing & crafts, bathroom & beauty, garden, storage, household & tools, other`},
		{"categories a string", ct, `{"filters":{"categories":"bags"}}`, 400, []string{"filters.categories"}, "must be an array of strings"},
		{"in_stock_only a string", ct, `{"filters":{"in_stock_only":"yes"}}`, 400, []string{"filters.in_stock_only"}, "must be a boolean"},
		{"unknown filter lists the filters", ct, `{"filters":{"in_stock":true}}`, 400, []string{"filters.in_stock"}, "unknown field; allowed: exclude, min_price, max_price, categories, in_stock_only"},
		{"diversity a number", ct, `{"diversity":3}`, 400, []string{"diversity"}, "must be an object"},
		{"max_per_category zero", ct, `{"diversity":{"max_per_category":0}}`, 400, []string{"diversity.max_per_category"}, "must be between 1 and 100"},
		{"max_per_category 101", ct, `{"diversity":{"max_per_category":101}}`, 400, []string{"diversity.max_per_category"}, "must be between 1 and 100"},
		{"max_per_category fractional", ct, `{"diversity":{"max_per_category":1.5}}`, 400, []string{"diversity.max_per_category"}, "must be an integer"},
		{"max_per_category a string", ct, `{"diversity":{"max_per_category":"2"}}`, 400, []string{"diversity.max_per_category"}, "must be an integer"},
		{"unknown diversity field", ct, `{"diversity":{"max_per_brand":2}}`, 400, []string{"diversity.max_per_brand"}, "unknown field; allowed: max_per_category"},
		{"every error at once", ct, `{"zz":1,"k":0,"mode":"x","filters":{"categories":[1]}}`, 400,
			[]string{"filters.categories[0]", "k", "mode", "zz"}, ""},
		{"form content type", "application/x-www-form-urlencoded", `k=10`, 415, nil, ""},
		{"text content type", "text/plain", `{}`, 415, nil, ""},
		{"no content type", "", `{}`, 415, nil, ""},
		{"latin-1 charset", "application/json; charset=iso-8859-1", `{}`, 415, nil, ""},
		{"huge body", ct, `{"user_id":"` + strings.Repeat("x", DefaultBodyLimit) + `"}`, 413, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, Deps{})
			rec := h.do(t, "POST", "/v1/recommendations", tc.contentType, tc.body, HeaderRequestID, "bad-1")
			if got := rec.Header().Get("Content-Type"); rec.Code != tc.status || got != "application/problem+json" {
				t.Fatalf("status %d content type %q, want %d application/problem+json: %s", rec.Code, got, tc.status, rec.Body)
			}
			p := decodeBody[problemBody](t, rec)
			if !slices.Equal(fields(p), tc.fields) {
				t.Errorf("errors[].field = %q, want %q (%s)", fields(p), tc.fields, rec.Body)
			}
			if tc.message != "" && (len(p.Errors) == 0 || p.Errors[0].Message != tc.message) {
				t.Errorf("errors = %+v, want message %q", p.Errors, tc.message)
			}
			if p.RequestID != "bad-1" || p.Type != "about:blank" || p.Title != http.StatusText(tc.status) || p.Detail == "" {
				t.Errorf("problem %+v", p)
			}
			if len(h.rec.got) != 0 {
				t.Errorf("the recommender was called with %+v", h.rec.got)
			}
		})
	}
}

func TestBodyLimitConfig(t *testing.T) {
	h := newHarness(t, Config{BodyLimit: 100}, Deps{})
	body := `{"session_id":"` + strings.Repeat("s", 100) + `"}`
	if rec := h.do(t, "POST", "/v1/recommendations", "application/json", body); rec.Code != 413 {
		t.Errorf("status %d, want 413", rec.Code)
	}
	if rec := h.do(t, "POST", "/v1/recommendations", "application/json", `{"k":5}`); rec.Code != 200 {
		t.Errorf("small body: status %d", rec.Code)
	}
}

// A chunked body has no Content-Length: the limit bites while reading.
func TestBodyLimitChunked(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	body := io.MultiReader(strings.NewReader(`{"user_id":"`), strings.NewReader(strings.Repeat("x", 2*DefaultBodyLimit)+`"}`))
	resp, err := http.Post(srv.URL+"/v1/recommendations", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rec := httptest.NewRecorder()
	for k, v := range resp.Header {
		rec.Header()[k] = v
	}
	rec.Code = resp.StatusCode
	io.Copy(rec.Body, resp.Body)
	checkResponse(t, h.doc, "POST", "/v1/recommendations", rec)
	if resp.StatusCode != 413 || resp.ContentLength == 0 {
		t.Errorf("status %d, want 413 with a body", resp.StatusCode)
	}
}

func TestRecommenderFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fn     func(context.Context, recommend.Request) (recommend.Response, error)
		status int
		log    string // in the log, with the request id
	}{
		{"deadline", func(context.Context, recommend.Request) (recommend.Response, error) {
			return recommend.Response{}, fmt.Errorf("cf: %w", context.DeadlineExceeded)
		}, 503, "request unavailable"},
		{"cancelled", func(context.Context, recommend.Request) (recommend.Response, error) {
			return recommend.Response{}, context.Canceled
		}, 503, "request unavailable"},
		{"error", func(context.Context, recommend.Request) (recommend.Response, error) {
			return recommend.Response{}, errors.New("secret internal cause")
		}, 500, "secret internal cause"},
		{"panic", func(context.Context, recommend.Request) (recommend.Response, error) {
			panic("index out of range in the blend")
		}, 500, "index out of range in the blend"},
		{"NaN score", func(context.Context, recommend.Request) (recommend.Response, error) {
			return recommend.Response{Items: []recommend.Item{{ID: "1", Score: math.NaN(), Rank: 1}}}, nil
		}, 500, "unsupported value: NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, Deps{})
			h.rec.fn = tc.fn
			rec := h.do(t, "POST", "/v1/recommendations", "application/json", `{"user_id":"1"}`, HeaderRequestID, "fail-1")
			p := decodeBody[problemBody](t, rec)
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/problem+json" || p.Detail == "" {
				t.Fatalf("status %d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if got, want := rec.Header().Get("Retry-After"), map[bool]string{true: "1"}[tc.status == 503]; got != want {
				t.Errorf("Retry-After %q, want %q", got, want)
			}
			if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "blend") {
				t.Errorf("the problem shows the internal cause: %s", rec.Body)
			}
			logs := h.logs.String()
			if !strings.Contains(logs, fmt.Sprintf(`"status":%d`, tc.status)) {
				t.Errorf("access log lacks status %d:\n%s", tc.status, logs)
			}
			if !strings.Contains(logs, tc.log) || !strings.Contains(logs, `"request_id":"fail-1"`) {
				t.Errorf("log lacks %q with the request id:\n%s", tc.log, logs)
			}
			if tc.name == "panic" && !strings.Contains(logs, "goroutine") {
				t.Errorf("panic logged without a stack:\n%s", logs)
			}
		})
	}
}

func TestPanicInMiddleware(t *testing.T) {
	h := newHarness(t, Config{}, Deps{Middleware: []echo.MiddlewareFunc{func(echo.HandlerFunc) echo.HandlerFunc {
		return func(echo.Context) error { panic("broken tracing") }
	}}})
	rec := h.do(t, "GET", "/healthz", "", "")
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestAbortHandlerPanicPassesThrough(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	h.rec.fn = func(context.Context, recommend.Request) (recommend.Response, error) { panic(http.ErrAbortHandler) }
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	req := httptest.NewRequest("POST", "/v1/recommendations", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	h.e.ServeHTTP(httptest.NewRecorder(), req)
}

func TestRouting(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/v2/recommendations", 404, ""},
		{"GET", "/v1/recommendations/", 404, ""},
		{"GET", "/v1/recommendations", 405, "OPTIONS, POST"},
		{"DELETE", "/healthz", 405, "OPTIONS, GET, HEAD"},
		{"HEAD", "/v1/recommendations", 405, "OPTIONS, POST"},
		{"POST", "/v1/models", 405, "OPTIONS, GET"},
	} {
		rec := h.do(t, tc.method, tc.path, "", "")
		if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: status %d %q, want %d problem", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.status)
		}
		if got := rec.Header().Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if p := decodeBody[problemBody](t, rec); !strings.Contains(p.Detail, tc.path) {
			t.Errorf("%s %s: detail %q does not name the path", tc.method, tc.path, p.Detail)
		}
	}
}

func TestNoRecommender(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	h.e = New(Config{}, Deps{})
	if rec := h.do(t, "POST", "/v1/recommendations", "application/json", `{}`); rec.Code != 503 {
		t.Errorf("status %d, want 503", rec.Code)
	}
}
