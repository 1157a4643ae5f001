package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tailorhq/tailor/similar"
)

// fakeSimilar answers for item 85123A only, with min(k, 3) items, and
// records what it was asked.
type fakeSimilar struct {
	mu  sync.Mutex
	ids []string
	ks  []int
}

func (f *fakeSimilar) Similar(_ context.Context, id string, k int) (similar.Response, error) {
	f.mu.Lock()
	f.ids, f.ks = append(f.ids, id), append(f.ks, k)
	f.mu.Unlock()
	if id != "85123A" {
		return similar.Response{}, &Error{Kind: KindNotFound, Detail: fmt.Sprintf("no item %q", id)}
	}
	all := []similar.Item{
		{Product: similar.Product{ID: "21733", Title: "RED HANGING HEART T-LIGHT HOLDER", Price: 2.95, Category: "candles & lights"}, Score: 0.52, Rank: 1, Source: similar.KindCoPurchase,
			Reasons: []string{"Customers who bought WHITE HANGING HEART T-LIGHT HOLDER also bought this (264 customers)"}},
		{Product: similar.Product{ID: "22804", Title: "CANDLEHOLDER PINK HANGING HEART", Price: 2.95, Category: "candles & lights"}, Score: 0.5, Rank: 2, Source: similar.KindCoPurchase},
		{Product: similar.Product{ID: "84970S", Title: "HANGING HEART ZINC T-LIGHT HOLDER", Price: 0.85, Category: "candles & lights"}, Score: 0.9, Rank: 3, Source: similar.KindContent,
			Reasons: []string{"Like this one: also a candles & lights item with T-LIGHT, HANGING, HEART in its name"}},
	}
	return similar.Response{
		Item:  similar.Product{ID: "85123A", Title: "WHITE HANGING HEART T-LIGHT HOLDER", Price: 2.55, Category: "candles & lights"},
		Items: all[:min(k, len(all))],
	}, nil
}

func TestSimilarItems(t *testing.T) {
	fake := &fakeSimilar{}
	h := newHarness(t, Config{}, Deps{Similar: fake})
	for _, tc := range []struct {
		name, path string
		status     int
		wantK      int    // the k the service got; 0: not called
		wantField  string // the field errors[] names, for a 400
		wantDetail string
	}{
		{"default k", "/v1/items/85123A/similar", 200, 10, "", ""},
		{"k=2", "/v1/items/85123A/similar?k=2", 200, 2, "", ""},
		{"k=100", "/v1/items/85123A/similar?k=100", 200, 100, "", ""},
		{"k=0", "/v1/items/85123A/similar?k=0", 400, 0, "k", "invalid request: k: must be between 1 and 100"},
		{"k=101", "/v1/items/85123A/similar?k=101", 400, 0, "k", "invalid request: k: must be between 1 and 100"},
		{"k=-3", "/v1/items/85123A/similar?k=-3", 400, 0, "k", "invalid request: k: must be between 1 and 100"},
		{"k huge", "/v1/items/85123A/similar?k=99999999999999999999", 400, 0, "k", "invalid request: k: must be between 1 and 100"},
		{"k=abc", "/v1/items/85123A/similar?k=abc", 400, 0, "k", "invalid request: k: must be an integer"},
		{"k=2.5", "/v1/items/85123A/similar?k=2.5", 400, 0, "k", "invalid request: k: must be an integer"},
		{"k empty", "/v1/items/85123A/similar?k=", 400, 0, "k", "invalid request: k: must be an integer"},
		{"k twice", "/v1/items/85123A/similar?k=2&k=3", 400, 0, "k", "invalid request: k: must be given once"},
		{"unknown parameter", "/v1/items/85123A/similar?limit=3", 400, 0, "limit", "invalid request: limit: unknown query parameter; allowed: k"},
		{"bad k and unknown id", "/v1/items/nope/similar?k=0", 400, 0, "k", ""},
		{"unknown id", "/v1/items/nope/similar", 404, 10, "", `no item "nope"`},
		{"escaped id", "/v1/items/85123%41/similar?k=1", 200, 1, "", ""},
		// The id is unescaped once: %2541 is the id "85123%41", not 85123A.
		{"double-escaped id", "/v1/items/85123%2541/similar", 404, 10, "", `no item "85123%41"`},
		{"escaped slash in id", "/v1/items/a%2Fb/similar", 404, 10, "", `no item "a/b"`},
		// A parameter net/url cannot read is not dropped (which would
		// answer with the default k): it is a 400 naming it.
		{"k with a semicolon", "/v1/items/85123A/similar?k=3;x=1", 400, 0, "k", "invalid request: k: must be an integer"},
		{"k badly escaped", "/v1/items/85123A/similar?k=%", 400, 0, "k", "invalid request: k: must be an integer"},
		{"unknown parameter badly escaped", "/v1/items/85123A/similar?x=%zz", 400, 0, "x", "invalid request: x: unknown query parameter; allowed: k"},
		{"escaped k", "/v1/items/85123A/similar?%6B=2", 200, 2, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.ks = nil
			rec := h.do(t, "GET", tc.path, "", "", HeaderRequestID, "sim-1")
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			switch {
			case tc.wantK == 0 && len(fake.ks) != 0:
				t.Errorf("the service was called with k=%v", fake.ks)
			case tc.wantK != 0 && (len(fake.ks) != 1 || fake.ks[0] != tc.wantK):
				t.Errorf("the service got k=%v, want %d", fake.ks, tc.wantK)
			}
			if tc.status != 200 {
				p := decodeBody[problem](t, rec)
				if rec.Header().Get("Content-Type") != "application/problem+json" || p.RequestID != "sim-1" ||
					tc.wantDetail != "" && p.Detail != tc.wantDetail {
					t.Errorf("problem %+v", p)
				}
				if tc.wantField != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.wantField) {
					t.Errorf("errors %+v, want one naming %q", p.Errors, tc.wantField)
				}
				return
			}
			body := decodeBody[similarResponse](t, rec)
			if body.RequestID != "sim-1" || body.Item.ID != "85123A" || len(body.Items) != min(tc.wantK, 3) {
				t.Errorf("response %+v", body)
			}
			for _, it := range body.Items {
				if it.Reasons == nil {
					t.Errorf("item %s: reasons null, want []", it.ID)
				}
			}
		})
	}
	if got := strings.Join(fake.ids, ","); !strings.HasPrefix(got, "85123A,") || !strings.Contains(got, "nope") {
		t.Errorf("ids asked: %s", got)
	}
}

func TestSimilarItemsWithoutService(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	rec := h.do(t, "GET", "/v1/items/85123A/similar", "", "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("status %d %s", rec.Code, rec.Body)
	}
	// Only GET: a POST is a 405 problem.
	if rec := h.do(t, "POST", "/v1/items/85123A/similar", "application/json", "{}"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d %s", rec.Code, rec.Body)
	}
}
