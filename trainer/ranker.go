package trainer

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/propensity"
)

// Ranker recommends with the trained models, the way they are meant to be
// served: candidates from the CF model over the customer's interaction
// vector, the customer's own items (buy-again) and popular items, re-ranked
// in one batch by the propensity model. It is safe for concurrent use.
type Ranker struct {
	vocab      *cf.Vocabulary
	cf         cf.Scorer
	prop       propensity.Predictor
	asm        *features.Assembler
	profiles   map[string]*features.CustomerProfile
	items      []features.ItemStats // vocabulary order
	popular    []int                // vocabulary indices, most buyers first
	now        time.Time
	candidates int
	pool       sync.Pool
}

// Candidate counts the ranker draws from each source.
const (
	CFCandidates         = 100
	DiscoverCFCandidates = 300
	PopularCandidates    = 20
)

// NewRanker builds a ranker from trained parts. items must be in vocabulary
// order. prop may be nil while the propensity model is being trained; such a
// ranker can only produce training examples.
func NewRanker(vocab *cf.Vocabulary, scorer cf.Scorer, prop propensity.Predictor, profiles []features.CustomerProfile,
	items []features.ItemStats, now time.Time) (*Ranker, error) {
	names := features.Names()
	if prop != nil {
		names = prop.Names()
	}
	asm, err := features.NewAssembler(names)
	if err != nil {
		return nil, err
	}
	r := &Ranker{vocab: vocab, cf: scorer, prop: prop, asm: asm, items: items, now: now,
		profiles: make(map[string]*features.CustomerProfile, len(profiles)), candidates: CFCandidates}
	for i := range profiles {
		r.profiles[profiles[i].ID] = &profiles[i]
	}
	r.popular = make([]int, len(items))
	for j := range r.popular {
		r.popular[j] = j
	}
	slices.SortStableFunc(r.popular, func(a, b int) int { return cmp.Compare(items[b].Buyers, items[a].Buyers) })
	n := vocab.Len()
	r.pool.New = func() any { b := make([]float32, 2*n); return &b }
	return r, nil
}

// vector writes the customer's interaction vector into x and reports
// whether it has any item of the vocabulary.
func (r *Ranker) vector(prof *features.CustomerProfile, x []float32) bool {
	clear(x)
	any := false
	if prof == nil {
		return false
	}
	for _, h := range prof.Items {
		if j, ok := r.vocab.Index(h.Item); ok {
			x[j] = cf.Weight(float32(h.Invoices))
			any = true
		}
	}
	return any
}

// pair is one scored candidate.
type pair struct {
	j     int
	cand  features.Candidate
	score float32
}

// candidates gathers the candidate items of one customer with their features'
// inputs, skipping items for which skip is true.
func (r *Ranker) gather(prof *features.CustomerProfile, skip func(j int) bool) []pair {
	n := r.vocab.Len()
	bp := r.pool.Get().(*[]float32)
	defer r.pool.Put(bp)
	x, scores := (*bp)[:n], (*bp)[n:]
	hasCF := r.vector(prof, x)
	seen := make(map[int]bool)
	var out []pair
	add := func(j int) {
		if seen[j] || (skip != nil && skip(j)) {
			return
		}
		seen[j] = true
		out = append(out, pair{j: j})
	}
	var best float32
	if hasCF {
		r.cf.Score(x, scores)
		n := r.candidates
		if skip != nil {
			n = DiscoverCFCandidates
		}
		top := cf.TopK(scores, n, skip)
		// The customer's best score over every item, as the served flow
		// normalises, whatever the mode skips.
		for _, s := range scores {
			best = max(best, s)
		}
		for _, j := range top {
			add(j)
		}
	}
	if prof != nil {
		for _, h := range prof.Items {
			if j, ok := r.vocab.Index(h.Item); ok {
				add(j)
			}
		}
	}
	added := 0
	for _, j := range r.popular {
		if added == PopularCandidates {
			break
		}
		if !seen[j] && (skip == nil || !skip(j)) {
			add(j)
			added++
		}
	}
	// The copurchase feature, as the served flow computes it in discover
	// mode.
	var coBought []float32
	if skip != nil {
		coBought = make([]float32, n)
		if prof != nil {
			for _, h := range prof.Items {
				if j, ok := r.vocab.Index(h.Item); ok {
					features.AddCoBought(&r.items[j], coBought)
				}
			}
		}
	}
	for i := range out {
		j := out[i].j
		c := features.Candidate{Customer: prof, Item: &r.items[j], ItemIndex: j, Now: r.now, CoBought: coBought, Discover: skip != nil}
		if prof != nil {
			if h, ok := prof.History(r.vocab.ID(j)); ok {
				c.History = &h
			}
		}
		if hasCF && best > 0 {
			c.HasCF = true
			c.CFScore = scores[j] / best
		}
		out[i].cand = c
	}
	return out
}

// matrix assembles the propensity features of every pair, row by row.
func (r *Ranker) matrix(ps []pair) []float32 {
	f := r.asm.Len()
	x := make([]float32, len(ps)*f)
	for i := range ps {
		r.asm.Vector(&ps[i].cand, x[i*f:(i+1)*f])
	}
	return x
}

// score fills each pair's propensity.
func (r *Ranker) score(ps []pair) {
	x := r.matrix(ps)
	prob := make([]float32, len(ps))
	r.prop.Predict(x, prob)
	for i := range ps {
		ps[i].score = prob[i]
	}
}

// Recommend implements evaluate.Recommender.
func (r *Ranker) Recommend(customer string, k int, skip func(item string) bool) []string {
	var skipIdx func(j int) bool
	if skip != nil {
		skipIdx = func(j int) bool { return skip(r.vocab.ID(j)) }
	}
	ps := r.gather(r.profiles[customer], skipIdx)
	r.score(ps)
	slices.SortFunc(ps, func(a, b pair) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.j, b.j)
	})
	if len(ps) > k {
		ps = ps[:k]
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = r.vocab.ID(p.j)
	}
	return ids
}

// examples turns one customer's candidates into propensity training rows,
// labelled 1 when the customer bought the item in the label period.
func (r *Ranker) examples(customer string, bought map[string]struct{}, d, disc *propensity.Dataset) {
	prof := r.profiles[customer]
	ps := r.gather(prof, nil)
	// The discover mode gathers deeper among the items the customer never
	// bought; its candidates are examples too, so that the model learns to
	// rank the ones it will be asked to rank.
	inAuto := make(map[int]bool, len(ps))
	for _, p := range ps {
		inAuto[p.j] = true
	}
	owned := make(map[int]bool)
	if prof != nil {
		for _, h := range prof.Items {
			if j, ok := r.vocab.Index(h.Item); ok {
				owned[j] = true
			}
		}
	}
	dps := r.gather(prof, func(j int) bool { return owned[j] })
	for _, p := range dps {
		if !inAuto[p.j] {
			ps = append(ps, p)
		}
	}
	if disc != nil {
		r.appendExamples(disc, dps, bought)
	}
	r.appendExamples(d, ps, bought)
}

// appendExamples adds a row per candidate to d, labelled 1 when the
// customer bought its item in the label period.
func (r *Ranker) appendExamples(d *propensity.Dataset, ps []pair, bought map[string]struct{}) {
	row := make([]float32, r.asm.Len())
	for i := range ps {
		r.asm.Vector(&ps[i].cand, row)
		d.X = append(d.X, row...)
		label := float32(0)
		if _, ok := bought[r.vocab.ID(ps[i].j)]; ok {
			label = 1
		}
		d.Labels = append(d.Labels, label)
	}
}
