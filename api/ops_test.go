package api

import (
	"bytes"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestHealthz(t *testing.T) {
	h := newHarness(t, Config{}, Deps{Readiness: fakeReadiness{ready: false}})
	rec := h.do(t, "GET", "/healthz", "", "")
	if rec.Code != http.StatusOK || decodeBody[map[string]string](t, rec)["status"] != "ok" {
		t.Errorf("healthz while not ready: %d %s", rec.Code, rec.Body)
	}
	if head := h.do(t, "HEAD", "/healthz", "", ""); head.Code != http.StatusOK {
		t.Errorf("HEAD /healthz: %d", head.Code)
	}
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name       string
		readiness  Readiness
		status     int
		wantDetail string
	}{
		{"warming", fakeReadiness{false, "warming cf@20111101.d9a8bd95"}, 503, "not ready: warming cf@20111101.d9a8bd95"},
		{"draining", fakeReadiness{false, "draining"}, 503, "not ready: draining"},
		{"no detail", fakeReadiness{false, ""}, 503, "not ready: starting or draining"},
		{"ready", fakeReadiness{true, "2 models"}, 200, "2 models"},
		{"no readiness source", nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, Deps{Readiness: tc.readiness})
			rec := h.do(t, "GET", "/readyz", "", "")
			body := decodeBody[map[string]any](t, rec)
			if rec.Code != tc.status || (body["detail"] != nil || tc.wantDetail != "") && body["detail"] != tc.wantDetail {
				t.Errorf("status %d body %v, want %d with detail %q", rec.Code, body, tc.status, tc.wantDetail)
			}
			if tc.status == 503 && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("content type %q", rec.Header().Get("Content-Type"))
			}
			// A load balancer's HEAD probe gets the same status.
			if head := h.do(t, "HEAD", "/readyz", "", ""); head.Code != tc.status {
				t.Errorf("HEAD: status %d, want %d", head.Code, tc.status)
			}
		})
	}
}

func TestModels(t *testing.T) {
	models := fakeModels{
		{Name: "cf", Version: "20111101.d9a8bd95", Kind: "cf", TrainedAt: "2011-11-01", DataRange: "2010-12-01..2011-10-31"},
		{Name: "propensity", Version: "20111101.0a1b2c3d", Kind: "propensity", TrainedAt: "2011-11-01", DataRange: "2010-12-01..2011-10-31"},
	}
	h := newHarness(t, Config{}, Deps{Models: models})
	rec := h.do(t, "GET", "/v1/models", "", "")
	got := decodeBody[struct{ Models []ModelInfo }](t, rec)
	if rec.Code != 200 || !slices.Equal(got.Models, models) {
		t.Errorf("status %d, models %+v", rec.Code, got.Models)
	}
	empty := newHarness(t, Config{}, Deps{}).do(t, "GET", "/v1/models", "", "")
	if strings.TrimSpace(empty.Body.String()) != `{"models":[]}` {
		t.Errorf("without a lister: %s", empty.Body)
	}
}

func TestTelemetrySlot(t *testing.T) {
	var calls, extra int
	h := newHarness(t, Config{}, Deps{
		Telemetry: fakeTelemetry{calls: &calls},
		Middleware: []echo.MiddlewareFunc{func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				if calls != extra+1 {
					t.Errorf("wiring middleware ran before telemetry's")
				}
				if RequestID(c.Request().Context()) == "" {
					t.Errorf("no request id in the context of the wiring middleware")
				}
				extra++
				return next(c)
			}
		}},
	})
	rec := h.do(t, "GET", "/metrics", "", "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "tailor_requests_total") {
		t.Errorf("metrics: %d %s", rec.Code, rec.Body)
	}
	h.do(t, "GET", "/nowhere", "", "")
	if calls != 2 || extra != 2 {
		t.Errorf("telemetry middleware ran %d times, wiring middleware %d, want 2 and 2", calls, extra)
	}

	rec = newHarness(t, Config{}, Deps{}).do(t, "GET", "/metrics", "", "")
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("metrics without telemetry: %d %s", rec.Code, rec.Body)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	rec := h.do(t, "GET", "/openapi.json", "", "")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Fatalf("status %d, served document differs from the embedded one", rec.Code)
	}
	if v := h.doc.Version(); v != "3.1.0" {
		t.Errorf("openapi version %v, want 3.1.0", v)
	}
	// Every route is documented and every documented operation is a route.
	// (Every schema in the document being within the validator's subset is
	// checked by apitest.Parse, in newHarness.)
	documented := h.doc.Operations()
	var served []string
	param := regexp.MustCompile(`:([A-Za-z_]+)`) // Echo's :id is the document's {id}
	for _, r := range h.e.Routes() {
		served = append(served, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented operations %v, routes %v", documented, served)
	}
}

// The validator must be able to fail, or every response check above is empty.
func TestValidatorRejects(t *testing.T) {
	d := loadOpenAPI(t)
	const item = "#/components/schemas/Item"
	good := `{"id":"1","title":"t","price":1,"category":"c","in_stock":true,"score":0.5,"rank":1,"source":"s","reasons":[]}`
	if err := d.Validate(item, mustParse(t, good)); err != nil {
		t.Fatalf("good item rejected: %v", err)
	}
	for _, bad := range []string{
		`{"id":"1","title":"t","price":1,"category":"c","score":0.5,"rank":1,"source":"s"}`,                    // required
		`{"id":"1","title":"t","price":1,"category":"c","score":0.5,"rank":1,"source":"s","reasons":[],"x":1}`, // additional
		`{"id":1,"title":"t","price":1,"category":"c","score":0.5,"rank":1,"source":"s","reasons":[]}`,         // type
		`{"id":"1","title":"t","price":-1,"category":"c","score":0.5,"rank":1,"source":"s","reasons":[]}`,      // minimum
		`{"id":"1","title":"t","price":1,"category":"c","score":0.5,"rank":1.5,"source":"s","reasons":[]}`,     // integer
		`{"id":"1","title":"t","price":1,"category":"c","score":0.5,"rank":1,"source":"s","reasons":[2]}`,      // items
		`{"id":"1","title":"t","price":1e999,"category":"c","score":0.5,"rank":1,"source":"s","reasons":[]}`,   // float64
	} {
		if d.Validate(item, mustParse(t, bad)) == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	const req = "#/components/schemas/RecommendationRequest"
	for _, bad := range []string{`{"mode":"fast"}`, `{"k":101}`, `{"context":{"a":1}}`, `{"filters":{"maxprice":1}}`,
		`{"filters":{"categories":["shoes"]}}`, `{"diversity":{"max_per_category":0}}`, `{"filters":{"in_stock_only":1}}`} {
		if d.Validate(req, mustParse(t, bad)) == nil {
			t.Errorf("accepted request %s", bad)
		}
	}
	// The response check can fail too: a real problem answer, each time
	// with one thing wrong.
	rec := newHarness(t, Config{}, Deps{}).do(t, "POST", "/v1/recommendations", "application/json", `{"k":1000}`)
	if rec.Code != 400 {
		t.Fatalf("status %d, want 400", rec.Code)
	}
	for name, mutate := range map[string]func(status *int, h http.Header, body *[]byte){
		"no request id":    func(_ *int, h http.Header, _ *[]byte) { h.Del(HeaderRequestID) },
		"other request id": func(_ *int, h http.Header, _ *[]byte) { h.Set(HeaderRequestID, "someone-else") },
		"status differs":   func(s *int, _ http.Header, _ *[]byte) { *s = 503 },
		"media type":       func(_ *int, h http.Header, _ *[]byte) { h.Set("Content-Type", "application/json") },
		"extra field":      func(_ *int, _ http.Header, b *[]byte) { *b = bytes.Replace(*b, []byte(`{`), []byte(`{"x":1,`), 1) },
		"not JSON":         func(_ *int, _ http.Header, b *[]byte) { *b = []byte("oops") },
	} {
		status, header, body := rec.Code, rec.Header().Clone(), bytes.Clone(rec.Body.Bytes())
		mutate(&status, header, &body)
		if err := d.Check("POST", "/v1/recommendations", status, header, body); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
