package recommend_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tailorhq/tailor/recommend"
)

type hitCounter struct {
	mu           sync.Mutex
	hits, misses int
}

func (h *hitCounter) RecordAnswerCache(_ context.Context, hit bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hit {
		h.hits++
	} else {
		h.misses++
	}
}

func newAnswers(t *testing.T, models *string, ttl time.Duration) (*recommend.AnswerCache, *hitCounter) {
	t.Helper()
	obs := &hitCounter{}
	c, err := recommend.NewAnswerCache(func() string { return *models }, recommend.AnswerOptions{TTL: ttl}, obs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, obs
}

// answer is what a caller does: look up, and on a miss store body as the
// answer to req. It returns the body served.
func answer(t *testing.T, c *recommend.AnswerCache, req recommend.Request, resp recommend.Response, body string) string {
	t.Helper()
	got, key, hit := c.Lookup(t.Context(), req)
	if hit {
		return string(got)
	}
	c.Store(key, resp, []byte(body))
	c.Wait()
	return body
}

func TestAnswerCacheReusesOnlyTheSameQuestion(t *testing.T) {
	models := "cf@1 propensity@1"
	c, obs := newAnswers(t, &models, time.Minute)
	price, yes := 5.0, true
	base := recommend.Request{UserID: "17850", K: 10, Context: map[string]string{"country": "France", "device": "web"}}
	if got := answer(t, c, base, recommend.Response{}, "first"); got != "first" {
		t.Fatalf("empty cache answered %q", got)
	}
	if got := answer(t, c, base, recommend.Response{}, "second"); got != "first" {
		t.Fatalf("the same request was answered anew (%q)", got)
	}
	same := base
	same.K, same.Mode, same.Context = 0, "", map[string]string{"device": "web", "country": "France"} // defaults, another map order
	if got := answer(t, c, same, recommend.Response{}, "third"); got != "first" {
		t.Errorf("k and mode left to their defaults, context in another order: answered anew (%q)", got)
	}
	variants := map[string]func(r *recommend.Request){
		"another customer":   func(r *recommend.Request) { r.UserID = "12347" },
		"anonymous":          func(r *recommend.Request) { r.UserID = "" },
		"another session id": func(r *recommend.Request) { r.SessionID = "s1" },
		"k":                  func(r *recommend.Request) { r.K = 11 },
		"mode":               func(r *recommend.Request) { r.Mode = recommend.ModeDiscover },
		"explain":            func(r *recommend.Request) { r.Explain = true },
		"context value":      func(r *recommend.Request) { r.Context = map[string]string{"country": "Spain", "device": "web"} },
		"context split": func(r *recommend.Request) {
			r.Context = map[string]string{"country": "France", "device": "web", "": ""}
		},
		"exclude":    func(r *recommend.Request) { r.Filters.Exclude = []string{"85123A"} },
		"min price":  func(r *recommend.Request) { r.Filters.MinPrice = &price },
		"max price":  func(r *recommend.Request) { r.Filters.MaxPrice = &price },
		"categories": func(r *recommend.Request) { r.Filters.Categories = []string{"bags"} },
		"in stock":   func(r *recommend.Request) { r.Filters.InStockOnly = &yes },
		"diversity":  func(r *recommend.Request) { r.Diversity.MaxPerCategory = 2 },
	}
	for name, change := range variants {
		req := base
		req.Context = map[string]string{"country": "France", "device": "web"}
		change(&req)
		if got := answer(t, c, req, recommend.Response{}, name); got != name {
			t.Errorf("%s: served the answer of %q", name, got)
		}
	}
	models = "cf@2 propensity@1"
	if got := answer(t, c, base, recommend.Response{}, "new models"); got != "new models" {
		t.Errorf("after a model swap the old models' answer %q was served", got)
	}
	if obs.hits != 2 || obs.misses != 2+len(variants) {
		t.Errorf("observed %d hits and %d misses, want 2 and %d", obs.hits, obs.misses, 2+len(variants))
	}
}

func TestAnswerCacheSkips(t *testing.T) {
	models := "m"
	req := recommend.Request{UserID: "17850"}
	t.Run("session items", func(t *testing.T) {
		c, obs := newAnswers(t, &models, time.Minute)
		s := req
		s.Session = []recommend.SessionItem{{ItemID: "85123A", Event: recommend.EventView}}
		if _, key, hit := c.Lookup(t.Context(), s); hit || key != "" {
			t.Errorf("a request with session items: hit %v, key %q; want neither", hit, key)
		}
		if obs.hits+obs.misses != 0 {
			t.Errorf("requests with session items were counted (%d hits, %d misses)", obs.hits, obs.misses)
		}
	})
	for _, reason := range []string{recommend.ReasonCFUnavailable + ": timeout", recommend.ReasonPropensityFailed + ": breaker_open", recommend.ReasonProfileStore} {
		t.Run(reason, func(t *testing.T) {
			c, _ := newAnswers(t, &models, time.Minute)
			resp := recommend.Response{Degraded: true, FallbackReason: reason}
			answer(t, c, req, resp, "degraded")
			if got := answer(t, c, req, recommend.Response{}, "recovered"); got != "recovered" {
				t.Errorf("an answer degraded by %q was reused", reason)
			}
		})
	}
	t.Run("deterministic fallback", func(t *testing.T) {
		c, _ := newAnswers(t, &models, time.Minute)
		answer(t, c, req, recommend.Response{Degraded: true, FallbackReason: recommend.ReasonAnonymous}, "rules")
		if got := answer(t, c, req, recommend.Response{}, "again"); got != "rules" {
			t.Error("the anonymous rule answer was not reused")
		}
	})
	t.Run("expired", func(t *testing.T) {
		c, _ := newAnswers(t, &models, time.Millisecond)
		answer(t, c, req, recommend.Response{}, "old")
		time.Sleep(20 * time.Millisecond) // well past the TTL: not a timing measurement
		if got := answer(t, c, req, recommend.Response{}, "new"); got != "new" {
			t.Error("an answer was reused after its TTL")
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := newAnswers(t, &models, time.Minute)
		answer(t, c, req, recommend.Response{}, "before")
		c.Close()
		if _, _, hit := c.Lookup(t.Context(), req); hit {
			t.Error("a closed cache answered")
		}
		c.Store("k", recommend.Response{}, []byte("x")) // must not panic
	})
}

// fallbackCounter also counts fallbacks, as *telemetry.Telemetry does.
type fallbackCounter struct {
	hitCounter
	reasons []string
}

func (f *fallbackCounter) RecordFallback(_ context.Context, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reasons = append(f.reasons, reason)
}

// TestAnswerCacheCountsCachedFallbacks: an answer from the rules served
// again from the cache is a fallback answer too, so that
// tailor_fallbacks_total keeps counting answers, not flow runs.
func TestAnswerCacheCountsCachedFallbacks(t *testing.T) {
	obs := &fallbackCounter{}
	c, err := recommend.NewAnswerCache(func() string { return "cf@1 propensity@1" }, recommend.AnswerOptions{TTL: time.Minute}, obs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	rules := recommend.Response{Degraded: true, FallbackReason: "anonymous_or_unknown_customer"}
	for range 3 {
		answer(t, c, recommend.Request{UserID: "nobody"}, rules, "rules")
		answer(t, c, recommend.Request{UserID: "17850"}, recommend.Response{}, "model")
	}
	if obs.hits != 4 || len(obs.reasons) != 2 || obs.reasons[0] != rules.FallbackReason {
		t.Errorf("hits %d, fallbacks recorded on hits %q; want 4 hits and the rules' reason twice", obs.hits, obs.reasons)
	}
}
