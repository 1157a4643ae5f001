package recommend_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/recommend"
)

// threeBags is a session of three bags (odd indices in the tiny world): two
// viewed, one carted, and an id the catalog does not have.
func threeBags() []recommend.SessionItem {
	return []recommend.SessionItem{
		{ItemID: "10002", Event: recommend.EventView},
		{ItemID: "NO-SUCH-ITEM", Event: recommend.EventView},
		{ItemID: "10004", Event: recommend.EventView},
		{ItemID: "10006", Event: recommend.EventCart},
	}
}

// An anonymous visitor gets the popular list; the same visitor with three
// session items gets the models' answer, led by the item bought with them.
func TestSessionDrivesAnAnonymousAnswer(t *testing.T) {
	f := newFixture(t)
	f.cf.mode.Store("co")
	ctx := context.Background()
	plain, err := f.svc.Recommend(ctx, recommend.Request{K: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !plain.Degraded || plain.FallbackReason != recommend.ReasonAnonymous || plain.Items[0].Source != "rule:popular_overall" ||
		!slices.Equal(ids(plain), []string{"10001", "10002", "10003", "10004"}) {
		t.Fatalf("without a session: %+v", plain)
	}
	if f.cf.calls.Load() != 0 {
		t.Fatal("the CF model ran for an anonymous visitor without a session")
	}

	resp, err := f.svc.Recommend(ctx, recommend.Request{K: 4, Session: threeBags()})
	if err != nil {
		t.Fatal(err)
	}
	// 10008 is the one bag left; the kitchen items follow on the prior.
	if got := ids(resp); !slices.Equal(got, []string{"10008", "10001", "10003", "10005"}) {
		t.Errorf("with a session: items %v", got)
	}
	if resp.Degraded || resp.FallbackReason != "" || !slices.Equal(resp.Models, []string{"cf@test", "propensity@test"}) {
		t.Errorf("with a session: degraded %v (%q), models %v", resp.Degraded, resp.FallbackReason, resp.Models)
	}
	if !slices.Equal(resp.IgnoredSessionItems, []string{"NO-SUCH-ITEM"}) || plain.IgnoredSessionItems != nil {
		t.Errorf("ignored session items %q (without a session %q), want [NO-SUCH-ITEM]", resp.IgnoredSessionItems, plain.IgnoredSessionItems)
	}
	for _, it := range resp.Items {
		if it.Source != "propensity@test" {
			t.Errorf("item %s: source %s", it.ID, it.Source)
		}
	}
	top := strings.Join(resp.Items[0].Reasons, " | ")
	for _, want := range []string{
		"Customers who bought what you viewed or put in your basket also bought this",
		"From bags, like what you viewed or put in your basket",
	} {
		if !strings.Contains(top, want) {
			t.Errorf("reasons of %s: %q lack %q", resp.Items[0].ID, top, want)
		}
	}
	// Only views: the reason says so.
	views := []recommend.SessionItem{{ItemID: "10002", Event: recommend.EventView}, {ItemID: "10004", Event: recommend.EventView}}
	resp, _ = f.svc.Recommend(ctx, recommend.Request{K: 1, Session: views})
	if len(resp.Items) != 1 || !slices.Contains(resp.Items[0].Reasons, "Customers who bought what you viewed also bought this") {
		t.Errorf("views only: %+v", resp.Items)
	}
	// Only unknown ids: the anonymous fallback, and no model call.
	calls := f.cf.calls.Load()
	resp, _ = f.svc.Recommend(ctx, recommend.Request{K: 4, Session: []recommend.SessionItem{{ItemID: "NOPE", Event: recommend.EventCart}}})
	if resp.FallbackReason != recommend.ReasonAnonymous || f.cf.calls.Load() != calls {
		t.Errorf("unknown session ids only: reason %q, CF calls %d→%d", resp.FallbackReason, calls, f.cf.calls.Load())
	}
	// The answer names the ids it could not use, each once, in the order
	// first seen, whichever path answered; so does a ranking.
	unknown := []recommend.SessionItem{{ItemID: "NOPE", Event: recommend.EventCart}, {ItemID: "10002", Event: recommend.EventView},
		{ItemID: "ALSO-NOPE", Event: recommend.EventView}, {ItemID: "NOPE", Event: recommend.EventView}}
	resp, _ = f.svc.Recommend(ctx, recommend.Request{K: 4, Session: unknown})
	if want := []string{"NOPE", "ALSO-NOPE"}; !slices.Equal(resp.IgnoredSessionItems, want) {
		t.Errorf("ignored session items %q, want %q", resp.IgnoredSessionItems, want)
	}
	ranked, _ := f.svc.Rank(ctx, recommend.RankRequest{UserID: "c1", Items: []string{"10001", "10005"}, Session: unknown})
	if want := []string{"NOPE", "ALSO-NOPE"}; !slices.Equal(ranked.IgnoredSessionItems, want) {
		t.Errorf("rank: ignored session items %q, want %q", ranked.IgnoredSessionItems, want)
	}
}

// Session items enter a known customer's vector too, and the items carted
// or viewed are left out of the answer, but for viewed re-buys in buy_again.
func TestSessionItemsLeftOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		mode    recommend.Mode
		session []recommend.SessionItem
		want    []string
	}{
		// Without a session: 10001, 10002, 10003, 10004 (TestModelAnswer).
		{"viewed", recommend.ModeAuto, []recommend.SessionItem{{ItemID: "10004", Event: recommend.EventView}}, []string{"10001", "10002", "10003", "10005"}},
		{"carted re-buy", recommend.ModeAuto, []recommend.SessionItem{{ItemID: "10001", Event: recommend.EventCart}}, []string{"10002", "10003", "10004", "10005"}},
		{"bought now", recommend.ModeDiscover, []recommend.SessionItem{{ItemID: "10004", Event: recommend.EventPurchase}}, []string{"10005", "10006", "10007", "10008"}},
		{"viewed re-buy in buy_again", recommend.ModeBuyAgain, []recommend.SessionItem{{ItemID: "10002", Event: recommend.EventView}}, []string{"10001", "10002", "10003"}},
		{"carted re-buy in buy_again", recommend.ModeBuyAgain, []recommend.SessionItem{{ItemID: "10002", Event: recommend.EventCart}}, []string{"10001", "10003"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.svc.Recommend(ctx, recommend.Request{UserID: "c1", K: 4, Mode: tc.mode, Session: tc.session})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(resp); !slices.Equal(got, tc.want) || resp.Degraded {
				t.Errorf("items %v (degraded %v), want %v", got, resp.Degraded, tc.want)
			}
		})
	}
	// In buy_again the viewed item says it was viewed.
	resp, _ := f.svc.Recommend(ctx, recommend.Request{UserID: "c1", K: 4, Mode: recommend.ModeBuyAgain,
		Session: []recommend.SessionItem{{ItemID: "10002", Event: recommend.EventView}}})
	for _, it := range resp.Items {
		if viewed := slices.Contains(it.Reasons, "You looked at this in this chat"); viewed != (it.ID == "10002") {
			t.Errorf("item %s: reasons %q", it.ID, it.Reasons)
		}
	}
}

// The gate counts session items as history; the CF model sees them; a
// failing profile store with a session still gets the models, labelled.
func TestSessionGateAndFailures(t *testing.T) {
	ctx := context.Background()
	one := []recommend.SessionItem{{ItemID: "10003", Event: recommend.EventView}}
	for _, tc := range []struct {
		name, user, cfMode string
		session            []recommend.SessionItem
		degraded           bool
		reason, source     string
	}{
		// The fixture's gate wants 2 distinct items.
		{"thin customer", "thin", "", nil, true, fallback.ReasonTooLittleHistory, "rule:buy_again"},
		{"thin customer and a session item", "thin", "", one, false, "", "propensity@test"},
		// The viewed item is left out of the answer, so buy-again has nothing.
		{"thin customer viewing what they bought", "thin", "", []recommend.SessionItem{{ItemID: "10008", Event: recommend.EventView}}, true, fallback.ReasonTooLittleHistory, "rule:popular_overall"},
		{"anonymous with one item", "", "", one, true, fallback.ReasonTooLittleHistory, "rule:popular_overall"},
		{"profile store failing, with a session", "store-down", "", threeBags(), true, recommend.ReasonProfileStore, "propensity@test"},
		{"CF failing, with a session", "", "fail", threeBags(), true, recommend.ReasonCFUnavailable + ": error", "rule:popular_overall"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cf.mode.Store(tc.cfMode)
			resp, err := f.svc.Recommend(ctx, recommend.Request{UserID: tc.user, K: 3, Session: tc.session})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Degraded != tc.degraded || resp.FallbackReason != tc.reason || len(resp.Items) != 3 || resp.Items[0].Source != tc.source {
				t.Fatalf("degraded %v reason %q, items %+v; want %v %q from %s", resp.Degraded, resp.FallbackReason, resp.Items, tc.degraded, tc.reason, tc.source)
			}
			for _, it := range resp.Items {
				for _, s := range tc.session {
					if it.ID == s.ItemID {
						t.Errorf("session item %s returned", it.ID)
					}
				}
			}
		})
	}
}
