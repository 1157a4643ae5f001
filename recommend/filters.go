package recommend

import (
	"context"
	"math"
	"slices"

	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/telemetry"
)

// What answers when the mode and the filters leave nothing.
const (
	// ReasonNothingInMode: the mode and the filters together left no item,
	// so the answer is the most popular items that pass the filters alone.
	ReasonNothingInMode = "nothing_matched_filters_in_mode"
	// ReasonNoItemMatches: not one item of the catalog passes the filters;
	// the answer is empty.
	ReasonNoItemMatches = "no_item_matches_filters"
	// ReasonNothingNewMatches: in discover mode, every item that passes the
	// filters was bought by the customer before. Discover never offers a
	// past purchase, so the answer is empty.
	ReasonNothingNewMatches = "no_new_item_matches_filters"
	// ReasonOnlySessionMatches: every item that passes the filters (and,
	// in discover mode, was not bought before) is one of this chat's
	// session items, which are not offered again (session.go), so the
	// answer is empty.
	ReasonOnlySessionMatches = "only_session_items_match_filters"
	// RulePopularWithinFilter names that list: its items have source
	// "rule:popular_within_filter".
	RulePopularWithinFilter = "popular_within_filter"
)

// itemFacts is what the filters and the diversity cap read of every item,
// gathered once in New so that a request's scans over the vocabulary read
// slices rather than copy catalog entries.
type itemFacts struct {
	price      []float64
	category   []int          // by vocabulary index: a position in names
	names      []string       // the categories, in order of first appearance
	byName     map[string]int // name -> position in names
	outOfStock []int          // vocabulary indices marked out of stock
}

func newItemFacts(items Catalog) itemFacts {
	n := items.Len()
	f := itemFacts{price: make([]float64, n), category: make([]int, n), byName: map[string]int{}}
	for j := range n {
		it := items.Catalog(j)
		f.price[j] = it.Price
		c, ok := f.byName[it.Category]
		if !ok {
			c = len(f.names)
			f.byName[it.Category] = c
			f.names = append(f.names, it.Category)
		}
		f.category[j] = c
		if !it.IsInStock() {
			f.outOfStock = append(f.outOfStock, j)
		}
	}
	return f
}

// inStockOnly is the filter's value, true when the caller left it unset.
func (f Filters) inStockOnly() bool { return f.InStockOnly == nil || *f.InStockOnly }

// applyFilters sets mask[j] for every item the filters rule out: an excluded
// id, an item marked out of stock (unless the caller allows them), a price
// outside [MinPrice, MaxPrice], a category not in Categories. Items already
// masked are not looked at again.
func (s *Service) applyFilters(f Filters, mask []bool) {
	for _, id := range f.Exclude {
		if j, ok := s.deps.Items.Index(id); ok {
			mask[j] = true
		}
	}
	if f.inStockOnly() {
		for _, j := range s.facts.outOfStock {
			mask[j] = true
		}
	}
	if f.MinPrice == nil && f.MaxPrice == nil && len(f.Categories) == 0 {
		return
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if f.MinPrice != nil {
		lo = *f.MinPrice
	}
	if f.MaxPrice != nil {
		hi = *f.MaxPrice
	}
	var wanted []bool // by category position; nil: every category
	if len(f.Categories) > 0 {
		wanted = make([]bool, len(s.facts.names))
		for _, name := range f.Categories {
			if c, ok := s.facts.byName[name]; ok {
				wanted[c] = true
			}
		}
	}
	for j := range mask {
		if mask[j] {
			continue
		}
		p := s.facts.price[j]
		mask[j] = !(p >= lo && p <= hi) || (wanted != nil && !wanted[s.facts.category[j]])
	}
}

// perCategory is the diversity cap that applies to this request, or 0 when
// none does (no cap asked, or a cap of k or more, which cannot bite).
func (r *run) perCategory() int {
	if m := r.req.Diversity.MaxPerCategory; m > 0 && m < r.req.K {
		return m
	}
	return 0
}

// capper keeps count of the items taken per category.
type capper struct {
	category []int
	limit    int // 0: no cap
	taken    []int
}

func (r *run) capper() *capper {
	return &capper{category: r.s.facts.category, limit: r.perCategory(), taken: make([]int, len(r.s.facts.names))}
}

// full reports whether item j's category has reached the cap.
func (c *capper) full(j int) bool { return c.limit > 0 && c.taken[c.category[j]] >= c.limit }

// take counts item j, or reports false when its category is full.
func (c *capper) take(j int) bool {
	if c.full(j) {
		return false
	}
	c.taken[c.category[j]]++
	return true
}

// cut cuts the ranked candidates to k. With a diversity cap it walks the
// ranking and passes over a candidate whose category is full, so the answer
// still has k items when the candidates allow it. It reuses cs.
func (r *run) cut(cs []cand) []cand {
	k := r.req.K
	if r.perCategory() == 0 {
		return cs[:min(len(cs), k)]
	}
	c := r.capper()
	out := cs[:0]
	for _, x := range cs {
		if len(out) == k {
			break
		}
		if c.take(x.j) {
			out = append(out, x)
		}
	}
	return out
}

// addPerCategory adds, under a diversity cap, the best CF items of every
// category up to the cap (that the mode and filters allow), so that the
// capped cut can fill k places even when the CF top is crowded into a few
// categories.
func (r *run) addPerCategory(scores []float32, add func(j int)) {
	limit := r.perCategory()
	if limit == 0 {
		return
	}
	better := func(a, b int) bool { return scores[a] > scores[b] || scores[a] == scores[b] && a < b }
	tops := make([][]int, len(r.s.facts.names)) // each best first, at most limit long
	for j := range scores {
		if r.skip(j) {
			continue
		}
		c := r.s.facts.category[j]
		t := tops[c]
		switch {
		case len(t) < limit:
			t = append(t, j)
		case better(j, t[limit-1]):
			t[limit-1] = j
		default:
			continue
		}
		for i := len(t) - 1; i > 0 && better(t[i], t[i-1]); i-- {
			t[i], t[i-1] = t[i-1], t[i]
		}
		tops[c] = t
	}
	for _, t := range tops {
		for _, j := range t {
			add(j)
		}
	}
}

// suggest asks the rule chain for k items that the mode and the filters
// allow. Under a diversity cap it asks again for the places the cap left
// free, skipping the items already offered and the categories already full,
// until the list is full or the chain has no more to offer; the list keeps
// the chain's order, and Score is recomputed as (k − rank) / k.
func (r *run) suggest() []fallback.Suggestion {
	k := r.req.K
	in := fallback.Input{Bought: r.bought, Country: r.country, Skip: r.skip, Now: r.now}
	if r.perCategory() == 0 {
		return r.s.deps.Rules.Suggest(in, k)
	}
	c := r.capper()
	offered := make(map[int]bool)
	in.Skip = func(j int) bool { return r.skip(j) || offered[j] || c.full(j) }
	var out []fallback.Suggestion
	for len(out) < k {
		want := k - len(out)
		sugg := r.s.deps.Rules.Suggest(in, want)
		before := len(out)
		for _, sg := range sugg {
			if offered[sg.Index] || r.skip(sg.Index) {
				continue // a rule that ignores Skip
			}
			offered[sg.Index] = true
			if len(out) < k && c.take(sg.Index) {
				out = append(out, sg)
			}
		}
		// Fewer than asked: the chain has no more. Nothing taken: every
		// suggestion fell into a full category, so asking again is futile.
		if len(sugg) < want || len(out) == before {
			break
		}
	}
	for i := range out {
		out[i].Score = float64(k-i) / float64(k)
	}
	return out
}

// withinFilters answers when the mode and the filters together leave nothing
// on any path: the most popular items that pass the filters alone (the mode
// is relaxed), under the diversity cap, labelled rule:popular_within_filter
// and degraded with ReasonNothingInMode. When not one item of the catalog
// passes the filters, the answer is empty and says so (ReasonNoItemMatches).
// Discover's promise is not relaxed: it never offers a past purchase, so
// there the answer is empty with ReasonNothingNewMatches. Nor is the
// session's: items carted, bought or viewed in this chat stay out, and when
// they are all that is left the answer is empty with
// ReasonOnlySessionMatches.
func (r *run) withinFilters(ctx context.Context) Response {
	ctx, span := telemetry.Start(ctx, r.s.deps.Tracer, telemetry.SpanFallback)
	defer span.End()
	k := r.req.K
	ruledOut := make([]bool, r.s.deps.Items.Len())
	r.s.applyFilters(r.req.Filters, ruledOut)
	anyMatch := slices.Contains(ruledOut, false)
	if r.req.Mode == ModeDiscover {
		for _, b := range r.bought {
			ruledOut[b.Index] = true
		}
	}
	anyNew := slices.Contains(ruledOut, false)
	// The session's rule (session.go) is not relaxed with the mode: items
	// carted or bought in this chat never come back, nor do viewed ones,
	// but for a re-buy in buy_again mode.
	for _, e := range r.sess.items {
		if e.events&inBasket != 0 || r.req.Mode != ModeBuyAgain || r.owned[e.j] == nil {
			ruledOut[e.j] = true
		}
	}
	c := r.capper()
	picked := make([]int, 0, k)
	for _, j := range r.s.deps.Items.Popular() {
		if len(picked) == k {
			break
		}
		if !ruledOut[j] && c.take(j) {
			picked = append(picked, j)
		}
	}
	reason := ReasonNothingInMode
	switch {
	case !anyMatch:
		reason = ReasonNoItemMatches
	case !anyNew:
		reason = ReasonNothingNewMatches
	case len(picked) == 0:
		reason = ReasonOnlySessionMatches
	}
	span.SetAttributes(telemetry.AttrFallbackReason.String(reason))
	r.s.deps.Observer.RecordFallback(ctx, reason)
	resp := Response{Items: make([]Item, len(picked)), Models: r.models, Degraded: true, FallbackReason: reason}
	if resp.Models == nil {
		resp.Models = []string{}
	}
	for i, j := range picked {
		resp.Items[i] = r.item(j, i+1, float64(k-i)/float64(k), "rule:"+RulePopularWithinFilter, r.relaxedReasons(j))
	}
	return resp
}

// relaxedReasons explains item j of the popular-within-filter list: it is
// popular, it passes the filters, and the mode had to give way. Filters the
// caller did not set are not blamed.
func (r *run) relaxedReasons(j int) []string {
	f := r.req.Filters
	set := len(f.Exclude) > 0 || f.MinPrice != nil || f.MaxPrice != nil || len(f.Categories) > 0 || f.InStockOnly != nil
	out := []string{"One of our most popular products"}
	if set {
		out[0] += " that match your filters"
	}
	switch {
	case r.req.Mode == ModeBuyAgain && len(r.bought) == 0:
		out = append(out, "There is nothing to buy again yet: no past purchases on record")
	case r.req.Mode == ModeBuyAgain && set:
		out = append(out, "Nothing you have bought before matches your filters")
	case r.req.Mode == ModeBuyAgain:
		out = append(out, "Nothing you have bought before is available")
	case r.req.Mode == ModeDiscover && set:
		out = append(out, "Nothing new to you matches your filters")
	case r.req.Mode == ModeDiscover:
		out = append(out, "Nothing new to you is available")
	}
	return out
}
