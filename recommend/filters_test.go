package recommend_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/recommend"
)

// Categories of the diverse shop.
const (
	kitchen = "kitchen & dining"
	bags    = "bags"
	garden  = "garden"
)

// newDiverseWorld is newWorld with the categories crowded at the top of the
// ranking: items 10001-10004 are kitchen & dining (the regular customer c1
// bought 10001-10003), 10005-10006 bags, 10007-10008 garden. Item outOfStock
// (an id, or "") is marked out of stock.
func newDiverseWorld(outOfStock string) *world {
	w := newWorld()
	for j := range w.items {
		cat := kitchen
		switch {
		case j >= 6:
			cat = garden
		case j >= 4:
			cat = bags
		}
		w.items[j].Category, w.stats[j].Category = cat, cat
		if w.items[j].ID == outOfStock {
			no := false
			w.items[j].InStock = &no
		}
	}
	return w
}

func ptr[T any](v T) *T { return &v }

// checkAnswer holds every answer to what a chatbot relies on: ranks 1..n,
// reasons on every item, no item twice, every item passing the filters, and
// no category over the diversity cap.
func checkAnswer(t *testing.T, req recommend.Request, resp recommend.Response) {
	t.Helper()
	perCat := map[string]int{}
	seen := map[string]bool{}
	f := req.Filters
	for i, it := range resp.Items {
		if it.Rank != i+1 || len(it.Reasons) == 0 || it.Source == "" || seen[it.ID] {
			t.Errorf("item %d: %+v", i, it)
		}
		seen[it.ID] = true
		perCat[it.Category]++
		if m := req.Diversity.MaxPerCategory; m > 0 && perCat[it.Category] > m {
			t.Errorf("%d items of %s, over the cap of %d: %v", perCat[it.Category], it.Category, m, ids(resp))
		}
		if slices.Contains(f.Exclude, it.ID) || f.MinPrice != nil && it.Price < *f.MinPrice || f.MaxPrice != nil && it.Price > *f.MaxPrice ||
			len(f.Categories) > 0 && !slices.Contains(f.Categories, it.Category) || (f.InStockOnly == nil || *f.InStockOnly) && !it.InStock {
			t.Errorf("item %+v does not pass the filters %+v", it, f)
		}
	}
}

// TestFiltersAndDiversity asks every path (the models, the CF-only blend
// when the propensity model fails, and the rule chain for a customer the
// models are not asked about) for filtered and diversified answers.
func TestFiltersAndDiversity(t *testing.T) {
	for _, tc := range []struct {
		name       string
		outOfStock string
		failProp   bool
		req        recommend.Request
		want       []string
		wantSource string // of the first item
	}{
		// Uncapped, the model's top 4 are all kitchen & dining.
		{"model, no cap", "", false, recommend.Request{UserID: "c1", K: 4}, []string{"10001", "10002", "10003", "10004"}, "propensity@test"},
		{"model, two per category", "", false, recommend.Request{UserID: "c1", K: 4, Diversity: recommend.Diversity{MaxPerCategory: 2}},
			[]string{"10001", "10002", "10005", "10006"}, "propensity@test"},
		// The CF model's top candidates are not enough to fill k under the
		// cap: the flow adds every category's best.
		{"model, one per category", "", false, recommend.Request{UserID: "c1", K: 3, Diversity: recommend.Diversity{MaxPerCategory: 1}},
			[]string{"10001", "10005", "10007"}, "propensity@test"},
		{"model, cap leaves fewer than k", "", false, recommend.Request{UserID: "c1", K: 5, Diversity: recommend.Diversity{MaxPerCategory: 1}},
			[]string{"10001", "10005", "10007"}, "propensity@test"},
		{"model, cap of k changes nothing", "", false, recommend.Request{UserID: "c1", K: 4, Diversity: recommend.Diversity{MaxPerCategory: 4}},
			[]string{"10001", "10002", "10003", "10004"}, "propensity@test"},
		{"model, price range", "", false, recommend.Request{UserID: "c1", K: 10, Filters: recommend.Filters{MinPrice: ptr(3.0), MaxPrice: ptr(6.0)}},
			[]string{"10003", "10004", "10005", "10006"}, "propensity@test"},
		{"model, price range, categories and cap", "", false, recommend.Request{UserID: "c1", K: 3, Mode: recommend.ModeDiscover,
			Filters:   recommend.Filters{MinPrice: ptr(2.0), Categories: []string{kitchen, garden}},
			Diversity: recommend.Diversity{MaxPerCategory: 2}}, []string{"10004", "10007", "10008"}, "propensity@test"},
		{"model, out of stock dropped by default", "10002", false, recommend.Request{UserID: "c1", K: 3},
			[]string{"10001", "10003", "10004"}, "propensity@test"},
		{"model, out of stock allowed", "10002", false, recommend.Request{UserID: "c1", K: 3, Filters: recommend.Filters{InStockOnly: ptr(false)}},
			[]string{"10001", "10002", "10003"}, "propensity@test"},
		{"cf only, two per category", "", true, recommend.Request{UserID: "c1", K: 4, Diversity: recommend.Diversity{MaxPerCategory: 2}},
			[]string{"10001", "10002", "10005", "10006"}, "cf@test"},
		{"cf only, price range", "", true, recommend.Request{UserID: "c1", K: 4, Filters: recommend.Filters{MinPrice: ptr(4.0)}},
			[]string{"10004", "10005", "10006", "10007"}, "cf@test"},
		// The rule chain: popular overall is 10001..10008 in order.
		{"rules, two per category", "", false, recommend.Request{K: 4, Diversity: recommend.Diversity{MaxPerCategory: 2}},
			[]string{"10001", "10002", "10005", "10006"}, "rule:popular_overall"},
		// thin bought 10008: buy-again offers it, popular fills; the chain
		// is asked again for the place the cap freed.
		{"rules, buy again then popular, two per category", "", false, recommend.Request{UserID: "thin", K: 4, Diversity: recommend.Diversity{MaxPerCategory: 2}},
			[]string{"10008", "10001", "10002", "10005"}, "rule:buy_again"},
		{"rules, price range and categories", "", false, recommend.Request{K: 10, Filters: recommend.Filters{MinPrice: ptr(2.0), MaxPrice: ptr(7.0), Categories: []string{bags, garden}}},
			[]string{"10005", "10006", "10007"}, "rule:popular_overall"},
		{"rules, out of stock dropped by default", "10001", false, recommend.Request{K: 2}, []string{"10002", "10003"}, "rule:popular_overall"},
		{"rules, excluded ids", "", false, recommend.Request{K: 2, Filters: recommend.Filters{Exclude: []string{"10001", "10003", "NO-SUCH-ID"}}},
			[]string{"10002", "10004"}, "rule:popular_overall"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureOf(t, newDiverseWorld(tc.outOfStock))
			f.prop.fail.Store(tc.failProp)
			resp, err := f.svc.Recommend(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(resp); !slices.Equal(got, tc.want) {
				t.Errorf("items %v, want %v (%s)", got, tc.want, resp.FallbackReason)
			}
			if len(resp.Items) > 0 && resp.Items[0].Source != tc.wantSource {
				t.Errorf("source %s, want %s", resp.Items[0].Source, tc.wantSource)
			}
			for i, it := range resp.Items {
				if i > 0 && it.Score > resp.Items[i-1].Score {
					t.Errorf("scores not decreasing at %d: %v", i, resp.Items)
				}
				if it.InStock != (it.ID != tc.outOfStock) {
					t.Errorf("item %s: in_stock %v", it.ID, it.InStock)
				}
			}
			checkAnswer(t, tc.req, resp)
		})
	}
}

// TestDiversityFillsK holds the capped cut to its promise on a larger shop
// whose CF top is one category: every path answers k items, none of them
// in a category over the cap.
func TestDiversityFillsK(t *testing.T) {
	w := &world{}
	cats := []string{kitchen, bags, garden, "christmas", "storage"}
	for j := 0; j < 200; j++ {
		cat := cats[0] // the 150 items the CF model and popularity rank first
		if j >= 150 {
			cat = cats[1+(j-150)%4]
		}
		id := fmt.Sprintf("2%04d", j)
		w.items = append(w.items, catalog.Item{ID: id, Title: "ITEM " + id, Price: float64(j%7 + 1), Category: cat, Buyers: 1000 - j, Orders: 1000 - j})
		w.stats = append(w.stats, features.ItemStats{Item: id, Category: cat, Price: float64(j%7 + 1), Buyers: 1000 - j})
	}
	f := newFixtureOf(t, w)
	big := regular()
	for i := range big.Items {
		big.Items[i].Item = fmt.Sprintf("2%04d", i)
	}
	f.profiles["big"] = big
	for _, path := range []struct {
		name, user, source string
		failProp           bool
	}{{"model", "big", "propensity@test", false}, {"cf only", "big", "cf@test", true}, {"rules", "", "rule:", false}} {
		for _, k := range []int{5, 10, 20} {
			for _, limit := range []int{1, 3} {
				req := recommend.Request{UserID: path.user, K: k, Diversity: recommend.Diversity{MaxPerCategory: limit}}
				t.Run(fmt.Sprintf("%s k=%d cap=%d", path.name, k, limit), func(t *testing.T) {
					f.prop.fail.Store(path.failProp)
					resp, err := f.svc.Recommend(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					if want := min(k, limit*len(cats)); len(resp.Items) != want {
						t.Fatalf("%d items, want %d: %v", len(resp.Items), want, ids(resp))
					}
					for _, it := range resp.Items {
						if !strings.HasPrefix(it.Source, path.source) {
							t.Errorf("item %s from %s, want %s (%s)", it.ID, it.Source, path.source, resp.FallbackReason)
						}
					}
					checkAnswer(t, req, resp)
				})
			}
		}
	}
}

// TestNothingLeft: when the mode and the filters together leave nothing, on
// the model path or the rule path, the answer is the most popular items
// that pass the filters, labelled and explained; when the filters match no
// item at all, the answer is empty and says so.
func TestNothingLeft(t *testing.T) {
	for _, tc := range []struct {
		name       string
		outOfStock string
		req        recommend.Request
		want       []string
		reason     string
		models     []string
		because    string // in the items' reasons
	}{
		// c1 bought only kitchen & dining.
		{"buy again, a category never bought", "", recommend.Request{UserID: "c1", K: 5, Mode: recommend.ModeBuyAgain, Filters: recommend.Filters{Categories: []string{bags}}},
			[]string{"10005", "10006"}, recommend.ReasonNothingInMode, []string{"cf@test"}, "Nothing you have bought before matches your filters"},
		// The only kitchen item c1 has not bought is excluded.
		{"discover, exclusions cover the only candidates", "", recommend.Request{UserID: "c1", K: 5, Mode: recommend.ModeDiscover,
			Filters: recommend.Filters{Categories: []string{kitchen}, Exclude: []string{"10004"}}},
			nil, recommend.ReasonNothingNewMatches, []string{"cf@test"}, ""},
		{"discover, the only new candidate out of stock", "10004", recommend.Request{UserID: "c1", K: 5, Mode: recommend.ModeDiscover, Filters: recommend.Filters{Categories: []string{kitchen}}},
			nil, recommend.ReasonNothingNewMatches, []string{"cf@test"}, ""},
		{"anonymous buy again, rule path", "", recommend.Request{K: 3, Mode: recommend.ModeBuyAgain},
			[]string{"10001", "10002", "10003"}, recommend.ReasonNothingInMode, []string{}, "There is nothing to buy again yet: no past purchases on record"},
		// The mode is relaxed, the session's rule is not: carted, bought
		// and viewed items of this chat stay out (10001 and 10002 lead the
		// popular list, 10005 the bags).
		{"anonymous buy again with a session", "", recommend.Request{K: 3, Mode: recommend.ModeBuyAgain,
			Session: []recommend.SessionItem{{ItemID: "10001", Event: recommend.EventCart}, {ItemID: "10002", Event: recommend.EventView}}},
			[]string{"10003", "10004", "10005"}, recommend.ReasonNothingInMode, []string{"cf@test"}, "There is nothing to buy again yet: no past purchases on record"},
		{"buy again, a category never bought, one bought in this chat", "", recommend.Request{UserID: "c1", K: 5, Mode: recommend.ModeBuyAgain,
			Filters: recommend.Filters{Categories: []string{bags}}, Session: []recommend.SessionItem{{ItemID: "10005", Event: recommend.EventPurchase}}},
			[]string{"10006"}, recommend.ReasonNothingInMode, []string{"cf@test"}, "Nothing you have bought before matches your filters"},
		// thin (bought 10008, too little history) is answered by the rules.
		{"rule path, diversity within the filter", "", recommend.Request{UserID: "thin", K: 3, Mode: recommend.ModeBuyAgain,
			Filters: recommend.Filters{Categories: []string{kitchen, bags}}, Diversity: recommend.Diversity{MaxPerCategory: 1}},
			[]string{"10001", "10005"}, recommend.ReasonNothingInMode, []string{}, "One of our most popular products that match your filters"},
		// Everything the filters leave is in this chat's session, which is
		// never offered again: the answer is empty and says so, rather than
		// blaming past purchases (discover's reason) in a mode that allows them.
		{"auto, the only match carted in this chat", "", recommend.Request{UserID: "c1", K: 5,
			Filters: recommend.Filters{Categories: []string{garden}, Exclude: []string{"10008"}}, Session: []recommend.SessionItem{{ItemID: "10007", Event: recommend.EventCart}}},
			nil, recommend.ReasonOnlySessionMatches, []string{"cf@test"}, ""},
		{"anonymous, the only match viewed in this chat", "", recommend.Request{K: 3,
			Filters: recommend.Filters{Categories: []string{garden}, Exclude: []string{"10008"}}, Session: []recommend.SessionItem{{ItemID: "10007", Event: recommend.EventView}}},
			nil, recommend.ReasonOnlySessionMatches, []string{}, ""}, // one session item: too little history, the rule path
		{"discover, the only new match carted in this chat", "", recommend.Request{UserID: "c1", K: 5, Mode: recommend.ModeDiscover,
			Filters: recommend.Filters{Categories: []string{kitchen}}, Session: []recommend.SessionItem{{ItemID: "10004", Event: recommend.EventCart}}},
			nil, recommend.ReasonOnlySessionMatches, []string{"cf@test"}, ""},
		{"no item under the price", "", recommend.Request{UserID: "c1", K: 5, Filters: recommend.Filters{MaxPrice: ptr(0.5)}},
			nil, recommend.ReasonNoItemMatches, []string{"cf@test"}, ""},
		{"price range empty", "", recommend.Request{K: 5, Filters: recommend.Filters{MinPrice: ptr(3.5), MaxPrice: ptr(3.9)}},
			nil, recommend.ReasonNoItemMatches, []string{}, ""},
		{"unknown category", "", recommend.Request{UserID: "c1", K: 5, Mode: recommend.ModeDiscover, Filters: recommend.Filters{Categories: []string{"shoes"}}},
			nil, recommend.ReasonNoItemMatches, []string{"cf@test"}, ""},
		{"the only match out of stock", "10008", recommend.Request{UserID: "c1", K: 5, Filters: recommend.Filters{MinPrice: ptr(8.0)}},
			nil, recommend.ReasonNoItemMatches, []string{"cf@test"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureOf(t, newDiverseWorld(tc.outOfStock))
			resp, err := f.svc.Recommend(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(resp); !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
				t.Errorf("items %v, want %v", got, tc.want)
			}
			if !resp.Degraded || resp.FallbackReason != tc.reason || !slices.Equal(resp.Models, tc.models) || resp.Models == nil {
				t.Errorf("degraded %v, reason %q, models %#v; want reason %q, models %v", resp.Degraded, resp.FallbackReason, resp.Models, tc.reason, tc.models)
			}
			for _, it := range resp.Items {
				if it.Source != "rule:"+recommend.RulePopularWithinFilter || !slices.ContainsFunc(it.Reasons, func(s string) bool { return strings.Contains(s, tc.because) }) {
					t.Errorf("item %+v: want source rule:%s and a reason saying %q", it, recommend.RulePopularWithinFilter, tc.because)
				}
			}
			checkAnswer(t, tc.req, resp)
		})
	}
	// The same filters with the out-of-stock item allowed find it.
	f := newFixtureOf(t, newDiverseWorld("10008"))
	resp, _ := f.svc.Recommend(context.Background(), recommend.Request{UserID: "c1", K: 5, Filters: recommend.Filters{MinPrice: ptr(8.0), InStockOnly: ptr(false)}})
	if got := ids(resp); !slices.Equal(got, []string{"10008"}) || resp.Degraded || resp.Items[0].InStock {
		t.Errorf("out of stock allowed: %+v", resp)
	}
}
