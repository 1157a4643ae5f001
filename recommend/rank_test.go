package recommend_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/recommend"
)

func rankedIDs(r recommend.RankResponse) []string {
	out := make([]string, len(r.Items))
	for i, it := range r.Items {
		out[i] = it.ID
	}
	return out
}

// checkRanked holds every answer to what the document promises: ranks 1..n,
// known items scored (decreasing), titled and sourced, unknown ones last,
// unscored and marked.
func checkRanked(t *testing.T, r recommend.RankResponse, source string) {
	t.Helper()
	seenUnknown := false
	for i, it := range r.Items {
		if it.Rank != i+1 || len(it.Reasons) == 0 {
			t.Errorf("item %d: %+v", i, it)
		}
		if it.Unknown {
			seenUnknown = true
			if it.Score != nil || it.Source != "" || it.Title != "" || it.Price != nil || it.InStock != nil {
				t.Errorf("unknown item %s: %+v", it.ID, it)
			}
			continue
		}
		if seenUnknown {
			t.Errorf("known item %s after an unknown one", it.ID)
		}
		if it.Score == nil || it.Title == "" || it.Price == nil || it.InStock == nil || (source != "" && it.Source != source) {
			t.Errorf("known item %s: %+v, want source %s", it.ID, it, source)
		}
		if i > 0 && !r.Items[i-1].Unknown && *it.Score > *r.Items[i-1].Score {
			t.Errorf("scores rise at %d", i)
		}
	}
}

// given holds known items in an order the models disagree with, and two ids
// the catalog lacks.
var given = []string{"10005", "10001", "NOPE", "10003", "10002", "ALSO-NOPE"}

func TestRankKnownCustomer(t *testing.T) {
	f := newFixture(t)
	resp, err := f.svc.Rank(context.Background(), recommend.RankRequest{UserID: "c1", Items: given, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	// CF: own items weigh in (10001 three invoices, 10002 one, 10003 two),
	// propensity adds buy-again.
	if got := rankedIDs(resp); !slices.Equal(got, []string{"10001", "10002", "10003", "10005", "NOPE", "ALSO-NOPE"}) {
		t.Errorf("order %v", got)
	}
	if resp.Degraded || !slices.Equal(resp.Models, []string{"cf@test", "propensity@test"}) {
		t.Errorf("degraded %v (%q), models %v", resp.Degraded, resp.FallbackReason, resp.Models)
	}
	checkRanked(t, resp, "propensity@test")
	if !resp.Items[4].Unknown || !resp.Items[5].Unknown || resp.Items[4].Reasons[0] != recommend.ReasonNotInCatalog {
		t.Errorf("unknown ids: %+v", resp.Items[4:])
	}
	if r := resp.Items[0].Reasons; !strings.Contains(r[0], "bought this 3 times") || !strings.HasPrefix(r[len(r)-1], "score ") {
		t.Errorf("reasons of the first item: %q", r)
	}
	// The same items in another order: the same answer (no tie here).
	resp2, _ := f.svc.Rank(context.Background(), recommend.RankRequest{UserID: "c1", Items: []string{"ALSO-NOPE", "10002", "10003", "NOPE", "10001", "10005"}})
	if got := rankedIDs(resp2); !slices.Equal(got[:4], []string{"10001", "10002", "10003", "10005"}) || !slices.Equal(got[4:], []string{"ALSO-NOPE", "NOPE"}) {
		t.Errorf("reordered input: %v", got)
	}
}

func TestRankFallbacks(t *testing.T) {
	for _, tc := range []struct {
		name, user, cfMode string
		failProp           bool
		want               []string // known items, in order
		reason             string
		sources            []string // of the known items, in order; one for all
		models             []string
	}{
		{"anonymous: by popularity", "", "", false, []string{"10001", "10002", "10003", "10005"},
			recommend.ReasonAnonymous, []string{"rule:popular_overall"}, []string{}},
		{"profile store failing", "store-down", "", false, []string{"10001", "10002", "10003", "10005"},
			recommend.ReasonProfileStore, []string{"rule:popular_overall"}, []string{}},
		{"too little history: own items first", "thin", "", false, []string{"10008", "10001", "10003"},
			fallback.ReasonTooLittleHistory, []string{"rule:buy_again", "rule:popular_overall", "rule:popular_overall"}, []string{}},
		// Without cf_score the propensity model only sees buy-again: the
		// customer's items tie and keep the order given.
		{"CF failing: propensity alone", "c1", "fail", false, []string{"10001", "10003", "10002", "10005"},
			recommend.ReasonCFUnavailable + ": error", []string{"propensity@test"}, []string{"propensity@test"}},
		{"propensity failing: CF order", "c1", "", true, []string{"10001", "10002", "10003", "10005"},
			recommend.ReasonPropensityFailed + ": error", []string{"cf@test"}, []string{"cf@test"}},
		{"both failing: buy-again, then popularity", "c1", "fail", true, []string{"10001", "10003", "10002", "10005"},
			recommend.ReasonCFUnavailable + ": error; " + recommend.ReasonPropensityFailed + ": error",
			[]string{"rule:buy_again", "rule:buy_again", "rule:buy_again", "rule:popular_overall"}, []string{}},
		{"flat CF scores", "c1", "flat", false, []string{"10001", "10003", "10002", "10005"},
			fallback.ReasonFlatScores, []string{"rule:buy_again", "rule:buy_again", "rule:buy_again", "rule:popular_overall"}, []string{"cf@test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cf.mode.Store(tc.cfMode)
			f.prop.fail.Store(tc.failProp)
			items := given
			if tc.user == "thin" {
				items = []string{"10003", "NOPE", "10001", "10008"}
			}
			resp, err := f.svc.Rank(context.Background(), recommend.RankRequest{UserID: tc.user, Items: items, Explain: true})
			if err != nil {
				t.Fatal(err)
			}
			// explain quotes what answered, and only that.
			if why := resp.Items[0].Reasons[len(resp.Items[0].Reasons)-1]; slices.Contains(tc.models, "propensity@test") {
				if hasCF := slices.Contains(tc.models, "cf@test"); !strings.Contains(why, "; propensity ") || strings.Contains(why, "no CF score") == hasCF {
					t.Errorf("explain %q, with models %v", why, tc.models)
				}
			}
			got := rankedIDs(resp)
			if !slices.Equal(got[:len(tc.want)], tc.want) || len(got) != len(items) {
				t.Errorf("order %v, want %v then the unknown ids", got, tc.want)
			}
			if !resp.Degraded || resp.FallbackReason != tc.reason || !slices.Equal(resp.Models, tc.models) {
				t.Errorf("degraded %v, reason %q, models %v; want %q, %v", resp.Degraded, resp.FallbackReason, resp.Models, tc.reason, tc.models)
			}
			for i, want := range tc.want {
				src := tc.sources[min(i, len(tc.sources)-1)]
				if resp.Items[i].Source != src {
					t.Errorf("%s: source %s, want %s", want, resp.Items[i].Source, src)
				}
			}
			checkRanked(t, resp, "")
		})
	}
}

// An anonymous visitor with a session gets the models' order: the bags go
// first, where the popular order would put 10001 first.
func TestRankWithSession(t *testing.T) {
	f := newFixture(t)
	f.cf.mode.Store("co")
	items := []string{"10001", "10003", "10008", "10006", "NOPE"}
	resp, err := f.svc.Rank(context.Background(), recommend.RankRequest{Items: items, Session: threeBags()})
	if err != nil {
		t.Fatal(err)
	}
	// 10006 is carted: ranked all the same, since the caller asked.
	if got := rankedIDs(resp); !slices.Equal(got, []string{"10008", "10006", "10001", "10003", "NOPE"}) {
		t.Errorf("order %v", got)
	}
	if resp.Degraded {
		t.Errorf("degraded: %q", resp.FallbackReason)
	}
	checkRanked(t, resp, "propensity@test")
	if r := resp.Items[1].Reasons; !slices.Contains(r, "You put this in your basket in this chat") {
		t.Errorf("reasons of the carted item: %q", r)
	}
	if r := resp.Items[0].Reasons; !slices.Contains(r, "Customers who bought what you viewed or put in your basket also bought this") {
		t.Errorf("reasons of 10008: %q", r)
	}
}

func TestRankEdges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Only unknown ids: nothing to rank, nothing degraded, no model called.
	resp, err := f.svc.Rank(ctx, recommend.RankRequest{UserID: "c1", Items: []string{"X", "Y"}})
	if err != nil || rankedIDs(resp)[0] != "X" || !resp.Items[1].Unknown || resp.Degraded || len(resp.Models) != 0 || f.cf.calls.Load() != 0 {
		t.Errorf("unknown only: %+v, %v, CF calls %d", resp, err, f.cf.calls.Load())
	}
	// A repeated id is ranked once, at its first place.
	resp, _ = f.svc.Rank(ctx, recommend.RankRequest{UserID: "c1", Items: []string{"10005", "10001", "10005", "X", "X"}})
	if got := rankedIDs(resp); !slices.Equal(got, []string{"10001", "10005", "X"}) {
		t.Errorf("repeats: %v", got)
	}
	// A cancelled request is an error, not an answer.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.svc.Rank(cctx, recommend.RankRequest{UserID: "c1", Items: given}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// An item the catalog marks out of stock is still ranked, since the caller
// supplied it, and the answer says it is out of stock.
func TestRankSaysWhatIsOutOfStock(t *testing.T) {
	w := newWorld()
	no := false
	w.items[1].InStock = &no // 10002
	f := newFixtureOf(t, w)
	resp, err := f.svc.Rank(context.Background(), recommend.RankRequest{UserID: "c1", Items: given})
	if err != nil {
		t.Fatal(err)
	}
	checkRanked(t, resp, "propensity@test")
	if got := rankedIDs(resp); !slices.Contains(got, "10002") {
		t.Fatalf("out-of-stock 10002 left out: %v", got)
	}
	for _, it := range resp.Items {
		if it.Unknown {
			continue
		}
		if want := it.ID != "10002"; *it.InStock != want {
			t.Errorf("%s: in_stock %v, want %v", it.ID, *it.InStock, want)
		}
	}
}
