package main

import (
	"slices"
	"strings"
	"testing"
)

// bakelike is a chat session about the BAKELIKE alarm clocks: two viewed,
// one carted.
const bakelike = `"session_items":[{"item_id":"22727","event":"view"},{"item_id":"22726","event":"view"},{"item_id":"22728","event":"cart"}]`

// sessionAndRank is TestEndToEnd's part for session items, on the real
// models and data.
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

}
