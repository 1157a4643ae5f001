package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOverHTTPComparesEveryAnswer holds the over-HTTP row to its promise:
// it asks auto for the all-items task and discover for the new-items task,
// and check fails on any answer unlike the in-process flow's and on any
// request that is not a 200.
func TestOverHTTPComparesEveryAnswer(t *testing.T) {
	answers := map[string][]string{ // what the server says, by mode and customer
		answerKey("1", "auto"):     {"A", "B"},
		answerKey("1", "discover"): {"C"},
		answerKey("2", "auto"):     {"B", "A"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID string `json:"user_id"`
			K      int    `json:"k"`
			Mode   string `json:"mode"`
		}
		if r.URL.Path != "/v1/recommendations" || json.NewDecoder(r.Body).Decode(&req) != nil || req.K != 10 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		ids, ok := answers[answerKey(req.UserID, req.Mode)]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"title":"not ready"}`))
			return
		}
		var out struct {
			Items []map[string]string `json:"items"`
		}
		for _, id := range ids {
			out.Items = append(out.Items, map[string]string{"id": id})
		}
		json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	newH := func(flow map[string][]string) *overHTTP {
		return &overHTTP{base: srv.URL, client: srv.Client(), ctx: context.Background(),
			want: func(k string) ([]string, bool) { ids, ok := flow[k]; return ids, ok }}
	}
	skip := func(string) bool { return false }

	same := newH(answers)
	if got := same.Recommend("1", 10, nil); strings.Join(got, ",") != "A,B" {
		t.Errorf("auto answer %v, want [A B]", got)
	}
	if got := same.Recommend("1", 10, skip); strings.Join(got, ",") != "C" {
		t.Errorf("discover answer %v, want [C]", got)
	}
	if err := same.check(); err != nil || same.requests != 2 {
		t.Errorf("identical answers: check() = %v after %d requests, want nil after 2", err, same.requests)
	}

	other := newH(map[string][]string{answerKey("2", "auto"): {"A", "B"}}) // the flow ordered them otherwise
	other.Recommend("2", 10, nil)
	if err := other.check(); err == nil || !strings.Contains(err.Error(), "1 of 1 answers differ") ||
		!strings.Contains(err.Error(), "customer 2, mode auto: over HTTP [B A], in process [A B]") {
		t.Errorf("a reordered answer: check() = %v, want 1 of 1 differing, named with both answers", err)
	}

	failed := newH(answers)
	if got := failed.Recommend("2", 10, skip); got != nil { // no discover answer: a 503
		t.Errorf("a failed request answered %v", got)
	}
	if err := failed.check(); err == nil || !strings.Contains(err.Error(), "status 503") || !strings.Contains(err.Error(), "customer 2, mode discover") {
		t.Errorf("a failed request: check() = %v, want the status and the question", err)
	}
}
