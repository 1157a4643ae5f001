package features_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/features"
)

var t0 = time.Date(2011, 3, 1, 0, 0, 0, 0, time.UTC)

func at(days int) time.Time { return t0.AddDate(0, 0, days) }

func line(cust, inv, item string, qty int, price float64, when time.Time, country string) dataset.Purchase {
	return dataset.Purchase{Customer: cust, Invoice: inv, Item: item, Quantity: qty, Price: price, Time: when, Country: country}
}

func category(item string) string {
	switch item {
	case "B":
		return "bags"
	case "X", "Y", "Z":
		return "misc"
	}
	return "mugs"
}

func TestBuildProfiles(t *testing.T) {
	// Rows are deliberately out of time order: neither the latest invoice
	// (France) nor the latest line of A is the last row, the first purchase
	// (Germany) is not the first row, and items arrive as A, C, B.
	ps := []dataset.Purchase{
		line("C2", "1002", "A", 3, 1.5, at(40), "France"),
		line("C2", "1002", "A", 1, 1.5, at(40), "France"), // second line, same invoice
		line("C2", "1003", "C", 4, 0.25, at(0), "Germany"),
		line("C2", "1001", "B", 1, 10, at(4), "UK"),
		line("C2", "1001", "A", 2, 1.5, at(4), "UK"),
		line("C1", "0999", "B", 1, 2, at(1), "Spain"),
	}
	got := features.BuildProfiles(ps, category)
	if len(got) != 2 || got[0].ID != "C1" || got[1].ID != "C2" {
		t.Fatalf("profiles = %+v, want C1 then C2", got)
	}
	c := got[1]
	if c.Invoices != 3 {
		t.Errorf("Invoices = %d, want 3 distinct", c.Invoices)
	}
	if want := 2*1.5 + 10 + 3*1.5 + 1.5 + 4*0.25; math.Abs(c.Spend-want) > 1e-9 {
		t.Errorf("Spend = %v, want %v", c.Spend, want)
	}
	if c.Country != "France" {
		t.Errorf("Country = %q, want the latest invoice's France", c.Country)
	}
	if !c.First.Equal(at(0)) || !c.Last.Equal(at(40)) {
		t.Errorf("First, Last = %v, %v; want %v, %v", c.First, c.Last, at(0), at(40))
	}
	var sum float64
	for _, s := range c.Categories {
		sum += s
	}
	if math.Abs(sum-1) > 1e-9 || math.Abs(c.Categories["mugs"]-0.8) > 1e-9 || math.Abs(c.Categories["bags"]-0.2) > 1e-9 {
		t.Errorf("Categories = %v (sum %v), want mugs 0.8, bags 0.2", c.Categories, sum)
	}
	wantItems := []features.ItemHistory{
		{Item: "A", Invoices: 2, Quantity: 6, Last: at(40)},
		{Item: "B", Invoices: 1, Quantity: 1, Last: at(4)},
		{Item: "C", Invoices: 1, Quantity: 4, Last: at(0)},
	}
	if !slices.EqualFunc(c.Items, wantItems, func(a, b features.ItemHistory) bool {
		return a.Item == b.Item && a.Invoices == b.Invoices && a.Quantity == b.Quantity && a.Last.Equal(b.Last)
	}) {
		t.Errorf("Items = %+v\nwant    %+v", c.Items, wantItems)
	}
	if one := got[0]; one.Invoices != 1 || one.Spend != 2 || one.Country != "Spain" || one.Categories["bags"] != 1 {
		t.Errorf("C1 = %+v", one)
	}

	for _, tc := range []struct {
		item string
		ok   bool
		want int // Quantity
	}{{"A", true, 6}, {"B", true, 1}, {"C", true, 4}, {"0", false, 0}, {"AB", false, 0}, {"D", false, 0}} {
		h, ok := c.History(tc.item)
		if ok != tc.ok || h.Quantity != tc.want || (ok && h.Item != tc.item) {
			t.Errorf("History(%q) = %+v, %v; want quantity %d, %v", tc.item, h, ok, tc.want, tc.ok)
		}
	}
}

func TestBuildItemStats(t *testing.T) {
	ref := t0
	from := ref.Add(-features.RecentWindow)
	ps := []dataset.Purchase{
		line("c1", "i1", "X", 1, 1, at(-50), "UK"),
		line("c1", "i2", "X", 1, 1, at(-10), "UK"),                // c1: recent, two invoices
		line("c2", "i3", "X", 1, 1, from.Add(-time.Second), "UK"), // just outside the window
		line("c2", "i3", "X", 5, 1, at(-40), "UK"),                // same invoice: not a repeat
		line("c2", "i6", "X", 1, 1, ref, "UK"),                    // at ref: ignored
		line("c3", "i4", "X", 1, 1, ref, "UK"),                    // at ref: not a buyer
		line("c4", "i5", "X", 1, 1, at(5), "UK"),                  // after ref: not a buyer
		line("c5", "i7", "X", 1, 1, from, "UK"),                   // exactly at the window start: recent
		line("c1", "i2", "Y", 1, 1, at(-1), "UK"),
		line("c9", "i9", "W", 1, 1, at(-1), "UK"), // not asked for
	}
	price := func(id string) float64 { return map[string]float64{"X": 1.25, "Y": 7, "Z": 0.5}[id] }
	got := features.BuildItemStats(ps, []string{"Z", "X", "Y"}, ref, price, category)
	want := []features.ItemStats{
		{Item: "Z", Category: "misc", Price: 0.5},
		{Item: "X", Category: "misc", Price: 1.25, Buyers: 3, RecentBuyers: 2, PriorBuyers: 2, RepeatRate: 1.0 / 3, FirstSold: at(-50)}, // prior: c1 at -50, c2 at -40
		{Item: "Y", Category: "misc", Price: 7, Buyers: 1, RecentBuyers: 1, FirstSold: at(-1)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d stats, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Item != w.Item || g.Category != w.Category || g.Price != w.Price || g.Buyers != w.Buyers ||
			g.RecentBuyers != w.RecentBuyers || g.PriorBuyers != w.PriorBuyers || !g.FirstSold.Equal(w.FirstSold) || math.Abs(g.RepeatRate-w.RepeatRate) > 1e-12 || math.IsNaN(g.RepeatRate) {
			t.Errorf("stats[%d] = %+v\nwant       %+v", i, g, w)
		}
	}
}

func TestDefinitionsDeclared(t *testing.T) {
	defs := features.Propensity()
	names := features.Names()
	if len(defs) != len(names) || len(defs) == 0 {
		t.Fatalf("%d definitions, %d names", len(defs), len(names))
	}
	seen := map[string]bool{}
	entities := map[string]bool{"customer": true, "item": true, "customer_item": true, "model": true}
	for i, d := range defs {
		if names[i] != d.Name {
			t.Errorf("Names()[%d] = %q, want %q", i, names[i], d.Name)
		}
		if seen[d.Name] {
			t.Errorf("duplicate feature %q", d.Name)
		}
		seen[d.Name] = true
		if !entities[d.Entity] || d.Source == "" || d.Type != "float32" {
			t.Errorf("%s: entity %q, source %q, type %q", d.Name, d.Entity, d.Source, d.Type)
		}
	}
}

func TestNewAssemblerUnknownName(t *testing.T) {
	for _, names := range [][]string{{"nope"}, {"cf_score", "bought_before", "nope"}, {"cf_score", ""}} {
		a, err := features.NewAssembler(names)
		bad := names[len(names)-1]
		if err == nil || a != nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("NewAssembler(%q) = %v, %v; want an error naming %q", names, a, err, bad)
		}
	}
}

// known is a customer who bought a "mugs" item on 3 of 6 invoices, last 10
// days before now; candidate item stats are fixed.
func known() (*features.CustomerProfile, *features.ItemStats, time.Time) {
	now := at(0)
	c := &features.CustomerProfile{
		ID: "c", Last: at(-2), Invoices: 6, Spend: 100,
		Categories: map[string]float64{"mugs": 0.75, "bags": 0.25},
		Items:      []features.ItemHistory{{Item: "A", Invoices: 3, Quantity: 9, Last: at(-10)}, {Item: "O", Invoices: 1, Quantity: 1, Last: at(-100)}},
	}
	s := &features.ItemStats{Item: "A", Category: "mugs", Price: 2.5, Buyers: 9, RecentBuyers: 4, PriorBuyers: 2, RepeatRate: 0.25, FirstSold: at(-200)}
	return c, s, now
}

func l1p(v float64) float32 { return float32(math.Log1p(v)) }

func TestVector(t *testing.T) {
	cust, item, now := known()
	hist, _ := cust.History("A")
	old, _ := cust.History("O")
	other := *item
	other.Item, other.Category = "O", "bags"
	itemCols := map[string]float32{"item_buyers_log": l1p(9), "item_recent_buyers_log": l1p(4), "item_repeat_rate": 0.25, "item_price_log": l1p(2.5),
		"item_trend": float32(math.Log(5.0 / 3)), "item_age_log": l1p(200)}

	defaults := map[string]float32{
		"cf_score": 0, "bought_before": 0, "item_invoices_log": 0, "item_basket_share": 0,
		"item_days_since_log": l1p(365), "item_recent_90d": 0, "customer_recency_log": l1p(365),
		"customer_frequency_log": 0, "customer_monetary_log": 0, "category_affinity": 0,
		"copurchase": 0, "discover_mode": 0, // not in discover mode
	}
	merge := func(ms ...map[string]float32) map[string]float32 {
		out := map[string]float32{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	custCols := map[string]float32{"customer_recency_log": l1p(2), "customer_frequency_log": l1p(6), "customer_monetary_log": l1p(100)}
	cases := []struct {
		name      string
		c         features.Candidate
		want      map[string]float32
		defaulted int
	}{
		{"unknown customer", features.Candidate{Item: item, Now: now, CFScore: 0.9},
			merge(defaults, itemCols), 10},
		{"history but no customer", features.Candidate{History: &hist, Item: item, Now: now},
			merge(defaults, itemCols), 10},
		{"bought it, with CF", features.Candidate{Customer: cust, History: &hist, Item: item, Now: now, CFScore: 0.5, HasCF: true},
			merge(itemCols, custCols, map[string]float32{
				"cf_score": 0.5, "bought_before": 1, "item_invoices_log": l1p(3),
				"item_basket_share": 0.5, "item_days_since_log": l1p(10), "item_recent_90d": 1, "category_affinity": 0.75,
				"copurchase": 0, "discover_mode": 0,
			}), 0},
		{"bought long ago, no CF", features.Candidate{Customer: cust, History: &old, Item: &other, Now: now, CFScore: 0.9},
			merge(itemCols, custCols, map[string]float32{
				"cf_score": 0, "bought_before": 1, "item_invoices_log": l1p(1),
				"item_basket_share": float32(1.0 / 6), "item_days_since_log": l1p(100), "item_recent_90d": 0, "category_affinity": 0.25,
				"copurchase": 0, "discover_mode": 0,
			}), 1},
		{"never bought it", features.Candidate{Customer: cust, Item: item, Now: now, CFScore: 1, HasCF: true},
			merge(defaults, itemCols, custCols, map[string]float32{"cf_score": 1, "category_affinity": 0.75}), 5},
	}
	names := features.Names()
	reversed := slices.Clone(names)
	slices.Reverse(reversed)
	for _, tc := range cases {
		for _, order := range [][]string{names, reversed, {"category_affinity", "cf_score"}} {
			a, err := features.NewAssembler(order)
			if err != nil {
				t.Fatal(err)
			}
			if a.Len() != len(order) {
				t.Fatalf("Len = %d, want %d", a.Len(), len(order))
			}
			out := make([]float32, a.Len())
			n := a.Vector(&tc.c, out)
			for i, name := range order {
				want, ok := tc.want[name]
				if !ok {
					t.Fatalf("%s: no expectation for %s", tc.name, name)
				}
				if math.Abs(float64(out[i]-want)) > 1e-6 || math.IsNaN(float64(out[i])) {
					t.Errorf("%s: column %d %s = %v, want %v", tc.name, i, name, out[i], want)
				}
			}
			if len(order) == len(names) && n != tc.defaulted {
				t.Errorf("%s: %d defaulted columns, want %d", tc.name, n, tc.defaulted)
			}
		}
	}
}
