package fallback

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// A vocabulary of eight items, 0..7.
var (
	day     = func(m time.Month, d int) time.Time { return time.Date(2011, m, d, 10, 0, 0, 0, time.UTC) }
	history = []Purchase{
		{Index: 5, Invoices: 1, Last: day(time.September, 1)},
		{Index: 3, Invoices: 5, Last: day(time.August, 1)},
		{Index: 2, Invoices: 5, Last: day(time.October, 12)},
		{Index: 7, Invoices: 2, Last: day(time.October, 1)},
	}
	byCountry = map[string][]int{"Germany": {4, 2, 6}, "EIRE": {1, 0}}
	popular   = []int{0, 1, 2, 3, 4, 5, 6, 7}
	chain     = DefaultChain(func(c string) []int { return byCountry[c] }, popular)
)

func indices(s []Suggestion) []int {
	out := make([]int, len(s))
	for i, x := range s {
		out[i] = x.Index
	}
	return out
}

func rules(s []Suggestion) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Rule
	}
	return out
}

func TestBuyAgainOrderAndReasons(t *testing.T) {
	in := Input{Bought: slices.Clone(history)}
	got := BuyAgain().Suggest(in, 10)
	want := []Suggestion{
		{Index: 2, Score: 1.0, Rule: RuleBuyAgain, Reason: "You have bought this 5 times, last on 12 Oct 2011"},
		{Index: 3, Score: 0.9, Rule: RuleBuyAgain, Reason: "You have bought this 5 times, last on 1 Aug 2011"},
		{Index: 7, Score: 0.8, Rule: RuleBuyAgain, Reason: "You have bought this twice, last on 1 Oct 2011"},
		{Index: 5, Score: 0.7, Rule: RuleBuyAgain, Reason: "You bought this on 1 Sep 2011"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(in.Bought, history) {
		t.Errorf("Suggest reordered the caller's history")
	}
	if got := boughtReason(Purchase{Invoices: 3}); got != "You have bought this 3 times" {
		t.Errorf("unknown date: %q", got)
	}
	dup := append(slices.Clone(history), Purchase{Index: 2, Invoices: 1})
	if got := indices(BuyAgain().Suggest(Input{Bought: dup}, 10)); !slices.Equal(got, []int{2, 3, 7, 5}) {
		t.Errorf("duplicate purchase: %v", got)
	}
}

func TestPopularReasons(t *testing.T) {
	in := Input{Country: "EIRE"}
	got := chain.Suggest(in, 3)
	want := []Suggestion{
		{Index: 1, Score: 1, Rule: RulePopularInCountry, Reason: "Popular with customers in Ireland"},
		{Index: 0, Score: 2.0 / 3, Rule: RulePopularInCountry, Reason: "Popular with customers in Ireland"},
		{Index: 2, Score: 1.0 / 3, Rule: RulePopularOverall, Reason: "One of our most popular products"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for c, want := range map[string]string{"Germany": "Germany", "United Kingdom": "the United Kingdom", "RSA": "South Africa"} {
		if got := countryPhrase(c); got != want {
			t.Errorf("countryPhrase(%q) = %q, want %q", c, got, want)
		}
	}
}

func TestChain(t *testing.T) {
	bought := func(j int) bool { return slices.ContainsFunc(history, func(p Purchase) bool { return p.Index == j }) }
	const ba, pc, po = RuleBuyAgain, RulePopularInCountry, RulePopularOverall
	cases := []struct {
		name      string
		in        Input
		k         int
		wantIdx   []int
		wantRules []string
	}{
		{"buy-again then country, 2 not repeated", Input{Bought: history, Country: "Germany"}, 6,
			[]int{2, 3, 7, 5, 4, 6}, []string{ba, ba, ba, ba, pc, pc}},
		{"k smaller than buy-again", Input{Bought: history, Country: "Germany"}, 2,
			[]int{2, 3}, []string{ba, ba}},
		{"discover: bought items skipped, falls through to popular", Input{Bought: history, Country: "Germany", Skip: bought}, 4,
			[]int{4, 6, 0, 1}, []string{pc, pc, po, po}},
		{"filters honoured by every rule", Input{Bought: history, Country: "Germany", Skip: func(j int) bool { return j == 3 || j == 4 || j == 0 }}, 6,
			[]int{2, 7, 5, 6, 1}, []string{ba, ba, ba, pc, po}},
		{"unknown country: straight to overall", Input{Bought: history, Country: "Atlantis"}, 6,
			[]int{2, 3, 7, 5, 0, 1}, []string{ba, ba, ba, ba, po, po}},
		{"no country", Input{Bought: history}, 5,
			[]int{2, 3, 7, 5, 0}, []string{ba, ba, ba, ba, po}},
		{"Unspecified country", Input{Country: "Unspecified"}, 2,
			[]int{0, 1}, []string{po, po}},
		{"anonymous", Input{}, 3, []int{0, 1, 2}, []string{po, po, po}},
		{"k larger than everything", Input{Bought: history, Country: "Germany"}, 20,
			[]int{2, 3, 7, 5, 4, 6, 0, 1}, []string{ba, ba, ba, ba, pc, pc, po, po}},
		{"k zero", Input{Bought: history, Country: "Germany"}, 0, []int{}, []string{}},
		{"everything skipped", Input{Bought: history, Skip: func(int) bool { return true }}, 5, []int{}, []string{}},
	}
	for _, c := range cases {
		got := chain.Suggest(c.in, c.k)
		if !slices.Equal(indices(got), c.wantIdx) || !slices.Equal(rules(got), c.wantRules) {
			t.Errorf("%s: got %v %v, want %v %v", c.name, indices(got), rules(got), c.wantIdx, c.wantRules)
			continue
		}
		for i, s := range got {
			if want := float64(c.k-i) / float64(c.k); s.Score != want || s.Score <= 0 || s.Score > 1 {
				t.Errorf("%s: item %d score %v, want %v", c.name, i, s.Score, want)
			}
			if s.Reason == "" {
				t.Errorf("%s: item %d has no reason", c.name, i)
			}
		}
		if again := chain.Suggest(c.in, c.k); !reflect.DeepEqual(again, got) {
			t.Errorf("%s: not deterministic", c.name)
		}
	}
}

// unruly ignores Skip and k; the chain must still dedupe and stop at k.
type unruly struct{}

func (unruly) Name() string { return "unruly" }
func (unruly) Suggest(Input, int) []Suggestion {
	return []Suggestion{{Index: 1, Rule: "unruly"}, {Index: 1, Rule: "unruly"}, {Index: 9, Rule: "unruly"}, {Index: 2, Rule: "unruly"}}
}

func TestChainGuardsAgainstUnrulyRules(t *testing.T) {
	c := Chain{PopularOverall([]int{2}), unruly{}}
	got := c.Suggest(Input{Skip: func(j int) bool { return j == 9 }}, 2)
	if !slices.Equal(indices(got), []int{2, 1}) || !slices.Equal(rules(got), []string{RulePopularOverall, "unruly"}) {
		t.Errorf("got %v %v", indices(got), rules(got))
	}
}
