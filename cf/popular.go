package cf

import (
	"cmp"
	"slices"
)

// Popular ranks items by how many distinct customers bought them, ties broken
// by more invoices, then by ascending item id. It ignores the customer.
type Popular struct {
	order  []int     // item indices, most popular first
	rank   []int     // rank[j] = position of item j in order
	scores []float32 // scores[j] = n - rank[j], exact for n < 2^24
}

// NewPopular counts buyers and invoices per item of m.
func NewPopular(m *Interactions) *Popular {
	n := m.Items.Len()
	buyers := make([]int, n)
	invoices := make([]float64, n)
	for p, j := range m.Cols {
		buyers[j]++
		invoices[j] += float64(m.Counts[p])
	}
	p := &Popular{order: make([]int, n), rank: make([]int, n), scores: make([]float32, n)}
	for j := range p.order {
		p.order[j] = j
	}
	slices.SortFunc(p.order, func(a, b int) int {
		if c := cmp.Compare(buyers[b], buyers[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(invoices[b], invoices[a]); c != 0 {
			return c
		}
		return cmp.Compare(m.Items.ID(a), m.Items.ID(b))
	})
	for r, j := range p.order {
		p.rank[j] = r
		p.scores[j] = float32(n - r)
	}
	return p
}

// Score writes the popularity scores (higher is more popular) into out; x is
// ignored.
func (p *Popular) Score(x, out []float32) { copy(out, p.scores) }

// Order returns the item indices, most popular first. The caller must not
// modify it.
func (p *Popular) Order() []int { return p.order }

// Rank returns the position of item j in Order (0 = most popular).
func (p *Popular) Rank(j int) int { return p.rank[j] }

// OwnThenPopular recommends the customer's own items first, ranked by the
// number of invoices they appeared on (ties: more recent last purchase first,
// then more popular), then fills the list with popular items. It is the
// "buy again" baseline; it needs counts and recency, not only the weighted
// vector, so it is a recommender rather than a Scorer.
type OwnThenPopular struct {
	m   *Interactions
	pop *Popular
}

// NewOwnThenPopular builds the baseline on m.
func NewOwnThenPopular(m *Interactions) *OwnThenPopular {
	return &OwnThenPopular{m: m, pop: NewPopular(m)}
}

// Recommend returns up to k item ids, best first, never one for which skip
// returns true (skip may be nil). It is safe for concurrent use.
func (o *OwnThenPopular) Recommend(customer string, k int, skip func(item string) bool) []string {
	if k <= 0 {
		return nil
	}
	out := make([]string, 0, k)
	var own []int // positions in m.Cols
	if u, ok := o.m.CustomerRow(customer); ok {
		for p := o.m.RowPtr[u]; p < o.m.RowPtr[u+1]; p++ {
			if skip == nil || !skip(o.m.Items.ID(int(o.m.Cols[p]))) {
				own = append(own, p)
			}
		}
	}
	slices.SortFunc(own, func(a, b int) int {
		if c := cmp.Compare(o.m.Counts[b], o.m.Counts[a]); c != 0 {
			return c
		}
		if c := o.m.Last[b].Compare(o.m.Last[a]); c != 0 {
			return c
		}
		return cmp.Compare(o.pop.rank[o.m.Cols[a]], o.pop.rank[o.m.Cols[b]])
	})
	taken := make(map[int32]bool, k)
	for _, p := range own {
		if len(out) == k {
			return out
		}
		out = append(out, o.m.Items.ID(int(o.m.Cols[p])))
		taken[o.m.Cols[p]] = true
	}
	for _, j := range o.pop.order {
		if len(out) == k {
			break
		}
		if taken[int32(j)] {
			continue
		}
		if id := o.m.Items.ID(j); skip == nil || !skip(id) {
			out = append(out, id)
		}
	}
	return out
}
