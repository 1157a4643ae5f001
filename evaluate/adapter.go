package evaluate

import (
	"slices"
	"sync"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/dataset"
)

// The baselines of package cf satisfy the interfaces they are evaluated through.
var (
	_ Recommender = (*cf.OwnThenPopular)(nil)
	_ cf.Scorer   = (*cf.Popular)(nil)
	_ cf.Scorer   = (*cf.ItemKNN)(nil)
	_ cf.Scorer   = (*cf.EASE)(nil)
)

// TrainMatrix builds the interaction matrix of a training set. Its vocabulary
// is every item bought at least once in ps, in ascending id order.
func TrainMatrix(ps []dataset.Purchase) *cf.Interactions {
	ids := make([]string, 0, 4096)
	seen := make(map[string]struct{})
	for _, p := range ps {
		if _, ok := seen[p.Item]; !ok {
			seen[p.Item] = struct{}{}
			ids = append(ids, p.Item)
		}
	}
	slices.Sort(ids)
	return cf.BuildInteractions(ps, cf.NewVocabulary(ids))
}

// ScorerRecommender adapts a cf.Scorer trained on m to a Recommender. For a
// customer in m it scores the customer's weighted vector (m.Vector); for an
// unknown customer it scores the zero vector, so popularity-like models still
// answer. It returns cf.TopK of the scores, mapped to item ids.
func ScorerRecommender(m *cf.Interactions, s cf.Scorer) Recommender {
	n := m.Items.Len()
	return &scorerRecommender{m: m, s: s, pool: sync.Pool{New: func() any {
		b := make([]float32, 2*n)
		return &b
	}}}
}

type scorerRecommender struct {
	m    *cf.Interactions
	s    cf.Scorer
	pool sync.Pool // *[]float32 of len 2n: x then out
}

func (r *scorerRecommender) Recommend(customer string, k int, skip func(item string) bool) []string {
	n := r.m.Items.Len()
	bp := r.pool.Get().(*[]float32)
	defer r.pool.Put(bp)
	x, out := (*bp)[:n], (*bp)[n:]
	if u, ok := r.m.CustomerRow(customer); ok {
		r.m.Vector(u, x)
	} else {
		clear(x)
	}
	r.s.Score(x, out)
	return topIDs(r.m.Items, out, k, skip)
}

// topIDs returns the ids of the k best-scored items that skip allows.
func topIDs(v *cf.Vocabulary, scores []float32, k int, skip func(item string) bool) []string {
	var skipIdx func(j int) bool
	if skip != nil {
		skipIdx = func(j int) bool { return skip(v.ID(j)) }
	}
	top := cf.TopK(scores, k, skipIdx)
	ids := make([]string, len(top))
	for i, j := range top {
		ids[i] = v.ID(j)
	}
	return ids
}
