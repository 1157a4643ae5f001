package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// bakelike is a chat session about the BAKELIKE alarm clocks: two viewed,
// one carted.
const bakelike = `"session_items":[{"item_id":"22727","event":"view"},{"item_id":"22726","event":"view"},{"item_id":"22728","event":"cart"}]`

// sessionAndRank is TestEndToEnd's part for session items and POST
// /v1/rank, on the real models and data.
func sessionAndRank(t *testing.T, base string) {
	t.Helper()
	// An anonymous visitor gets the labelled popular list; with three
	// session items, the models' answer, driven by the session.
	_, _, _, plain := post(t, base+"/v1/recommendations", `{"k":8}`)
	if !plain.Degraded || plain.FallbackReason != "anonymous_or_unknown_customer" || len(plain.Items) != 8 || plain.Items[0].Source != "rule:popular_overall" {
		t.Errorf("anonymous without a session: %+v", plain)
	}
	status, _, _, sess := post(t, base+"/v1/recommendations", `{"k":8,"context":{"device":"mobile",`+bakelike+`}}`)
	if status != 200 || sess.Degraded || len(sess.Models) != 2 || len(sess.Items) != 8 {
		t.Fatalf("anonymous with a session: %d %+v", status, sess)
	}
	var popular, got []string
	clocks := 0
	for i, it := range sess.Items {
		popular, got = append(popular, plain.Items[i].ID), append(got, it.ID)
		if !strings.HasPrefix(it.Source, "propensity@") || slices.Contains([]string{"22727", "22726", "22728"}, it.ID) {
			t.Errorf("session answer item %+v", it)
		}
		if strings.Contains(it.Title, "CLOCK") {
			clocks++
		}
	}
	shared := 0
	for _, id := range got {
		if slices.Contains(popular, id) {
			shared++
		}
	}
	if shared > len(got)/2 {
		t.Errorf("the session answer %v is mostly the popular list %v", got, popular)
	}
	if clocks < 3 {
		t.Errorf("only %d clocks in the answer to a session about alarm clocks: %+v", clocks, sess.Items)
	}
	if r := sess.Items[0].Reasons; !slices.Contains(r, "Customers who bought what you viewed or put in your basket also bought this") {
		t.Errorf("the first item's reasons do not mention the session: %q", r)
	}

	// POST /v1/rank: the caller's list in personalised order, unknown ids
	// last.
	type ranked struct {
		RequestID string `json:"request_id"`
		Items     []struct {
			ID, Title, Source string
			Score             *float64
			Rank              int
			Reasons           []string
			Unknown           bool
		}
		Models         []string
		Degraded       bool
		FallbackReason string `json:"fallback_reason"`
	}
	rank := func(body string) ranked {
		t.Helper()
		status, _, raw := fetch(t, http.MethodPost, base+"/v1/rank", body)
		var r ranked
		if err := json.Unmarshal(raw, &r); status != 200 || err != nil {
			t.Fatalf("rank %s: %d %v %s", body, status, err, raw)
		}
		return r
	}
	ids := func(r ranked) []string {
		var out []string
		for _, it := range r.Items {
			out = append(out, it.ID)
		}
		return out
	}
	list := `"items":["22423","22730","NO-SUCH-ITEM","85123A","22729"]`
	byRule := rank(`{` + list + `}`)
	if !byRule.Degraded || byRule.FallbackReason != "anonymous_or_unknown_customer" ||
		!slices.Equal(ids(byRule), []string{"22423", "85123A", "22730", "22729", "NO-SUCH-ITEM"}) || byRule.Items[0].Source != "rule:popular_overall" {
		t.Errorf("anonymous rank: %+v", byRule)
	}
	bySession := rank(`{` + list + `,"context":{` + bakelike + `}}`)
	if got := ids(bySession); bySession.Degraded || len(bySession.Models) != 2 || !slices.Equal(got[:2], []string{"22730", "22729"}) || got[4] != "NO-SUCH-ITEM" {
		t.Errorf("rank with a session: %v %+v", got, bySession)
	}
	last := bySession.Items[4]
	if !last.Unknown || last.Score != nil || last.Rank != 5 || bySession.Items[0].Score == nil || !strings.HasPrefix(bySession.Items[0].Source, "propensity@") {
		t.Errorf("rank with a session: first %+v, last %+v", bySession.Items[0], last)
	}
	// A known customer: their re-buys first (17850 bought 85123A 17 times).
	known := rank(`{"user_id":"17850",` + list + `}`)
	if known.Degraded || ids(known)[0] != "85123A" || !strings.Contains(known.Items[0].Reasons[0], "You have bought this") {
		t.Errorf("rank for 17850: %+v", known)
	}
	// Item ids in lower case are the catalog's upper-case ones, in a ranked
	// list as in the filters.
	if lower := rank(`{"user_id":"17850","items":["85123a","22423"]}`); ids(lower)[0] != "85123A" || lower.Items[0].Unknown {
		t.Errorf("rank of a lower-case id: %+v", lower)
	}
	status, _, raw := fetch(t, http.MethodPost, base+"/v1/recommendations", `{"k":5,"filters":{"exclude":["85123a"]}}`)
	if status != 200 || bytes.Contains(raw, []byte(`"85123A"`)) || !bytes.Contains(raw, []byte(`"22423"`)) {
		t.Errorf("popular list excluding 85123a: %d %s", status, raw)
	}
	// Bad input: problem+json naming the field.
	many := strings.Repeat(`"x",`, 500) + `"y"`
	for body, field := range map[string]string{
		`{"items":[` + many + `]}`:                         `"field":"items"`,
		`{"items":["22423","22423"]}`:                      `"field":"items[1]"`,
		`{"user_id":"17850"}`:                              `"field":"items"`,
		`{"items":["1"],"context":{"session_items":[{}]}}`: `"field":"context.session_items[0].event"`,
	} {
		status, header, raw := fetch(t, http.MethodPost, base+"/v1/rank", body)
		if status != 400 || header.Get("Content-Type") != "application/problem+json" || !bytes.Contains(raw, []byte(field)) {
			t.Errorf("rank %.60s: %d %s", body, status, raw)
		}
	}
}
