package recommend_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tailorhq/tailor/recommend"
)

// countingRecommender answers with the number of the call, so a reused
// answer is visible, and with the fallback reason it is told.
type countingRecommender struct {
	mu     sync.Mutex
	calls  int
	reason string
	err    error
}

func (c *countingRecommender) Recommend(_ context.Context, req recommend.Request) (recommend.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.err != nil {
		return recommend.Response{}, c.err
	}
	return recommend.Response{Items: []recommend.Item{{ID: fmt.Sprint(c.calls)}}, Degraded: c.reason != "", FallbackReason: c.reason}, nil
}

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

func newAnswers(t *testing.T, next recommend.Recommender, models *string, ttl time.Duration) (*recommend.AnswerCache, *hitCounter) {
	t.Helper()
	obs := &hitCounter{}
	c, err := recommend.NewAnswerCache(next, func() string { return *models }, recommend.AnswerOptions{TTL: ttl}, obs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, obs
}

// ask sends req and returns the id of the first item: the call that made it.
func ask(t *testing.T, c *recommend.AnswerCache, req recommend.Request) string {
	t.Helper()
	resp, err := c.Recommend(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	c.Wait()
	return resp.Items[0].ID
}

func TestAnswerCacheReusesOnlyTheSameQuestion(t *testing.T) {
	next := &countingRecommender{}
	models := "cf@1 propensity@1"
	c, obs := newAnswers(t, next, &models, time.Minute)
	price, yes := 5.0, true
	base := recommend.Request{UserID: "17850", K: 10, Context: map[string]string{"country": "France", "device": "web"}}
	first := ask(t, c, base)
	if again := ask(t, c, base); again != first {
		t.Fatalf("the same request was answered anew (%s, then %s)", first, again)
	}
	same := base
	same.K, same.Mode, same.Context = 0, "", map[string]string{"device": "web", "country": "France"} // defaults, another map order
	if got := ask(t, c, same); got != first {
		t.Errorf("k and mode left to their defaults, context in another order: answered anew (%s)", got)
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
	seen := map[string]string{first: "base"}
	for name, change := range variants {
		req := base
		req.Context = map[string]string{"country": "France", "device": "web"}
		change(&req)
		got := ask(t, c, req)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: got the answer of %s", name, prev)
		}
		seen[got] = name
	}
	models = "cf@2 propensity@1"
	if got := ask(t, c, base); got == first {
		t.Error("after a model swap the old models' answer was served")
	}
	if obs.hits != 2 || obs.misses != 2+len(variants) {
		t.Errorf("observed %d hits and %d misses, want 2 and %d", obs.hits, obs.misses, 2+len(variants))
	}
}

func TestAnswerCacheSkips(t *testing.T) {
	models := "m"
	req := recommend.Request{UserID: "17850"}
	t.Run("session items", func(t *testing.T) {
		next := &countingRecommender{}
		c, obs := newAnswers(t, next, &models, time.Minute)
		s := req
		s.Session = []recommend.SessionItem{{ItemID: "85123A", Event: recommend.EventView}}
		if a, b := ask(t, c, s), ask(t, c, s); a == b {
			t.Error("a request with session items was answered from the cache")
		}
		if obs.hits+obs.misses != 0 {
			t.Errorf("requests with session items were looked up (%d hits, %d misses)", obs.hits, obs.misses)
		}
	})
	for _, reason := range []string{recommend.ReasonCFUnavailable + ": timeout", recommend.ReasonPropensityFailed + ": breaker_open", recommend.ReasonProfileStore} {
		t.Run(reason, func(t *testing.T) {
			c, _ := newAnswers(t, &countingRecommender{reason: reason}, &models, time.Minute)
			if a, b := ask(t, c, req), ask(t, c, req); a == b {
				t.Errorf("an answer degraded by %q was cached", reason)
			}
		})
	}
	t.Run("deterministic fallback", func(t *testing.T) {
		c, _ := newAnswers(t, &countingRecommender{reason: recommend.ReasonAnonymous}, &models, time.Minute)
		if a, b := ask(t, c, req), ask(t, c, req); a != b {
			t.Error("the anonymous rule answer was not reused")
		}
	})
	t.Run("error", func(t *testing.T) {
		next := &countingRecommender{err: context.Canceled}
		c, _ := newAnswers(t, next, &models, time.Minute)
		for range 2 {
			if _, err := c.Recommend(t.Context(), req); !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want the recommender's", err)
			}
			c.Wait()
		}
		if next.calls != 2 {
			t.Errorf("an error was cached: %d calls for 2 requests", next.calls)
		}
	})
	t.Run("expired", func(t *testing.T) {
		c, _ := newAnswers(t, &countingRecommender{}, &models, time.Millisecond)
		a := ask(t, c, req)
		time.Sleep(20 * time.Millisecond) // well past the TTL: not a timing measurement
		if b := ask(t, c, req); a == b {
			t.Error("an answer was reused after its TTL")
		}
	})
	t.Run("closed", func(t *testing.T) {
		next := &countingRecommender{}
		c, _ := newAnswers(t, next, &models, time.Minute)
		ask(t, c, req)
		c.Close()
		if _, err := c.Recommend(t.Context(), req); err != nil || next.calls != 2 {
			t.Errorf("after Close: %v, %d calls; want the recommender asked", err, next.calls)
		}
	})
}
