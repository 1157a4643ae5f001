package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/tailorhq/tailor/recommend"
)

// mapAnswers is an answer cache in a map, keyed by user id; a user id
// starting with "nocache" is not cacheable.
type mapAnswers struct {
	mu     sync.Mutex
	bodies map[string][]byte
	stored []recommend.Response
}

func (m *mapAnswers) Lookup(_ context.Context, req recommend.Request) ([]byte, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(req.UserID) >= 7 && req.UserID[:7] == "nocache" {
		return nil, "", false
	}
	b, ok := m.bodies[req.UserID]
	return b, req.UserID, ok
}

func (m *mapAnswers) Store(key string, resp recommend.Response, body []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key != "" {
		m.bodies[key] = body
		m.stored = append(m.stored, resp)
	}
}

// The first request is answered by the recommender and stored; the second
// is served from the cache under its own request id, byte for byte the same
// answer otherwise; an uncacheable request always goes to the recommender.
func TestRecommendationsThroughTheAnswerCache(t *testing.T) {
	answers := &mapAnswers{bodies: map[string][]byte{}}
	h := newHarness(t, Config{}, Deps{Answers: answers})
	first := h.do(t, "POST", "/v1/recommendations", "application/json", `{"user_id":"17850"}`, HeaderRequestID, "turn-1")
	second := h.do(t, "POST", "/v1/recommendations", "application/json", `{"user_id":"17850"}`, HeaderRequestID, "turn-2")
	if first.Code != http.StatusOK || second.Code != http.StatusOK {
		t.Fatalf("statuses %d, %d", first.Code, second.Code)
	}
	if n := len(h.rec.got); n != 1 {
		t.Errorf("the recommender was asked %d times, want once", n)
	}
	if len(answers.stored) != 1 || len(answers.stored[0].Items) != 2 {
		t.Errorf("stored %+v", answers.stored)
	}
	a, b := decodeBody[recommendationResponse](t, first), decodeBody[recommendationResponse](t, second)
	if a.RequestID != "turn-1" || b.RequestID != "turn-2" {
		t.Errorf("request ids %q, %q; want each its own", a.RequestID, b.RequestID)
	}
	a.RequestID, b.RequestID = "", ""
	if !reflect.DeepEqual(a, b) || len(b.Items) != 2 || b.Items[1].Reasons == nil {
		t.Errorf("cached answer %+v\ndiffers from %+v", b, a)
	}
	if !bytes.HasPrefix(second.Body.Bytes(), []byte(`{"request_id":"turn-2","items":[`)) || !json.Valid(second.Body.Bytes()) {
		t.Errorf("cached body %s", second.Body)
	}
	for range 2 {
		h.do(t, "POST", "/v1/recommendations", "application/json", `{"user_id":"nocache-1"}`)
	}
	if n := len(h.rec.got); n != 3 || len(answers.stored) != 1 {
		t.Errorf("uncacheable requests: recommender asked %d times in all (want 3), %d stored (want 1)", n, len(answers.stored))
	}
}
