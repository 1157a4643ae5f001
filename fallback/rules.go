package fallback

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Names of the built-in rules, as Suggestion.Rule reports them.
const (
	RuleBuyAgain         = "buy_again"
	RulePopularInCountry = "popular_in_country"
	RulePopularOverall   = "popular_overall"
)

// Suggestion is one item a rule recommends. Items are vocabulary indices; the
// caller maps them to catalog items.
type Suggestion struct {
	Index  int     // vocabulary index
	Score  float64 // in (0, 1], decreasing with rank: (k − rank) / k
	Rule   string  // the rule that suggested it
	Reason string  // why, in words a chatbot can show
}

// Rule is a deterministic recommender.
type Rule interface {
	Name() string
	// Suggest returns at most k items, best first, none for which in.Skip
	// says true and none twice. The same input gives the same answer.
	Suggest(in Input, k int) []Suggestion
}

// Input is what the rules know about the customer and the request.
type Input struct {
	Bought  []Purchase       // the customer's items; not modified
	Country string           // the customer's country as the data spells it; empty when unknown
	Skip    func(j int) bool // items not to suggest (filters, mode); nil skips nothing
	Now     time.Time        // the reference time, for rules that need one
}

// Purchase is one item in the customer's history.
type Purchase struct {
	Index    int       // vocabulary index
	Invoices int       // distinct invoices with the item
	Last     time.Time // last purchase; zero when unknown
}

func (in Input) skip(j int) bool { return j < 0 || (in.Skip != nil && in.Skip(j)) }

// BuyAgain suggests the customer's own items: the most often bought first,
// then the most recently bought, then by index.
func BuyAgain() Rule { return buyAgain{} }

type buyAgain struct{}

func (buyAgain) Name() string { return RuleBuyAgain }

func (buyAgain) Suggest(in Input, k int) []Suggestion {
	if k <= 0 || len(in.Bought) == 0 {
		return nil
	}
	ps := make([]Purchase, 0, len(in.Bought))
	for _, p := range in.Bought {
		if !in.skip(p.Index) {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b Purchase) int {
		return cmp.Or(cmp.Compare(b.Invoices, a.Invoices), b.Last.Compare(a.Last), cmp.Compare(a.Index, b.Index))
	})
	out := make([]Suggestion, 0, min(k, len(ps)))
	for _, p := range ps {
		if len(out) == k {
			break
		}
		if has(out, p.Index) {
			continue // listed twice: the first, sorted, is the best
		}
		out = append(out, Suggestion{Index: p.Index, Rule: RuleBuyAgain, Reason: boughtReason(p)})
	}
	rankScores(out, k)
	return out
}

// boughtReason says how often and when the customer bought the item, e.g.
// "You have bought this 5 times, last on 12 Oct 2011".
func boughtReason(p Purchase) string {
	var s string
	switch {
	case p.Invoices == 1 && !p.Last.IsZero():
		return "You bought this on " + p.Last.Format("2 Jan 2006")
	case p.Invoices <= 1:
		s = "You have bought this before"
	case p.Invoices == 2:
		s = "You have bought this twice"
	default:
		s = fmt.Sprintf("You have bought this %d times", p.Invoices)
	}
	if !p.Last.IsZero() {
		s += ", last on " + p.Last.Format("2 Jan 2006")
	}
	return s
}

// PopularIn suggests the items most popular with customers in the customer's
// country, in the order popular returns them. It suggests nothing when the
// country is empty, "Unspecified" (as the data has it), or popular has no
// list for it.
func PopularIn(popular func(country string) []int) Rule { return popularIn{popular} }

type popularIn struct{ popular func(string) []int }

func (popularIn) Name() string { return RulePopularInCountry }

func (r popularIn) Suggest(in Input, k int) []Suggestion {
	if k <= 0 || in.Country == "" || in.Country == "Unspecified" || r.popular == nil {
		return nil
	}
	reason := "Popular with customers in " + countryPhrase(in.Country)
	return fromOrder(r.popular(in.Country), in, k, RulePopularInCountry, reason)
}

// countryPhrase names a country of the data in a sentence.
func countryPhrase(c string) string {
	switch c {
	case "EIRE":
		return "Ireland"
	case "RSA":
		return "South Africa"
	case "USA", "United Kingdom", "Netherlands", "Channel Islands", "European Community",
		"Czech Republic", "United Arab Emirates":
		return "the " + c
	}
	return c
}

// PopularOverall suggests items in the given order: the most popular first.
func PopularOverall(order []int) Rule { return popularOverall{order} }

type popularOverall struct{ order []int }

func (popularOverall) Name() string { return RulePopularOverall }

func (r popularOverall) Suggest(in Input, k int) []Suggestion {
	return fromOrder(r.order, in, k, RulePopularOverall, "One of our most popular products")
}

// fromOrder takes the first k items of order that are not skipped.
func fromOrder(order []int, in Input, k int, rule, reason string) []Suggestion {
	if k <= 0 {
		return nil
	}
	out := make([]Suggestion, 0, min(k, len(order)))
	for _, j := range order {
		if len(out) == k {
			break
		}
		if in.skip(j) || has(out, j) {
			continue
		}
		out = append(out, Suggestion{Index: j, Rule: rule, Reason: reason})
	}
	rankScores(out, k)
	return out
}

// has reports whether j is already suggested. Lists hold at most k items (a
// hundred at most through the API), so a linear scan is enough.
func has(s []Suggestion, j int) bool {
	return slices.ContainsFunc(s, func(x Suggestion) bool { return x.Index == j })
}

// rankScores sets Score = (k − rank) / k: 1 for the first, decreasing, above 0.
func rankScores(s []Suggestion, k int) {
	for i := range s {
		s[i].Score = float64(k-i) / float64(k)
	}
}
