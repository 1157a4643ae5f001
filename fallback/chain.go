package fallback

// Chain is an ordered list of rules: Suggest takes what the first rule
// offers, fills the rest from the second, and so on.
type Chain []Rule

// DefaultChain is buy-again, then popular in the customer's country, then
// popular overall. popularIn returns a country's items, most popular first
// (nil for a country it does not know); popular is the overall order.
func DefaultChain(popularIn func(country string) []int, popular []int) Chain {
	return Chain{BuyAgain(), PopularIn(popularIn), PopularOverall(popular)}
}

// Suggest returns up to k items: each rule in order is asked for the places
// still free, with the items already chosen added to in.Skip, so no item
// appears twice and a later rule fills the gaps an earlier one leaves. The
// list is ranked in that order, Score is (k − rank) / k, and every item keeps
// the Rule and Reason of the rule that suggested it.
func (c Chain) Suggest(in Input, k int) []Suggestion {
	if k <= 0 {
		return nil
	}
	out := make([]Suggestion, 0, k)
	outer := in.skip // bound now, to the caller's Skip
	in.Skip = func(j int) bool { return outer(j) || has(out, j) }
	for _, r := range c {
		if len(out) == k {
			break
		}
		for _, s := range r.Suggest(in, k-len(out)) {
			// Checked again in case a rule ignores Skip or its k.
			if len(out) < k && !in.Skip(s.Index) {
				out = append(out, s)
			}
		}
	}
	rankScores(out, k)
	return out
}
