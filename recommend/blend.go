package recommend

import (
	"math"
	"slices"
)

// fusionK is the constant of reciprocal-rank fusion, as Cormack, Clarke and
// Büttcher (SIGIR 2009) set it and as it is commonly used.
const fusionK = 60

// DefaultOwnOrderWeight is the weight of the buy-again order in the blend,
// chosen on three validation windows carved from the training period (see
// benchmarks/RESULTS.md): it raised the all-items NDCG@10 and Recall@10 on
// each, and HitRate@10 on two, level on the third.
const DefaultOwnOrderWeight = 0.5

// fuse turns the propensity probabilities of cs into the score that orders
// the answer: the reciprocal-rank fusion of two orders,
//
//	1/(60 + rank by the propensity model) + w/(60 + rank among own items),
//
// where the second order is over the customer's own candidates, by
// invoices, most first, and equal invoices in the model's order (the
// latest purchase instead measured worse on validation), and counts only
// for items the customer bought. It is scaled so that an item first in both
// orders scores 1. The propensity model leans on recency; the counts hedge
// it with how often the customer came back for an item. Items the customer
// never bought keep the model's order among themselves; an auto answer with
// no own candidate (an anonymous session, filters that leave none) is in the
// model's order, still scored by the blend, so that auto scores keep one
// scale (its best is 1/(1+w)). Discover mode, which has no own items, and
// buy-again mode, which has only own items, keep the model's probabilities:
// in buy-again the blend only reorders own items, and on validation that
// lost a little (its gain in auto mode is in which own items outrank which
// new ones). Ranks start at 0; ties in probability keep the candidates'
// order, which is deterministic.
func (r *run) fuse(cs []cand) {
	w := r.s.cfg.OwnOrderWeight
	if w <= 0 || r.req.Mode == ModeBuyAgain || r.req.Mode == ModeDiscover || len(cs) == 0 || len(cs) > math.MaxInt32 {
		return
	}
	// The model's order: keys of the inverted probability bits (a
	// probability is never negative, so its bits order as it does) over the
	// candidate's place, sorted as plain integers.
	keys := r.sc.keys[:0]
	for i := range cs {
		keys = append(keys, uint64(^math.Float32bits(float32(max(cs[i].prob, 0))))<<32|uint64(i))
	}
	r.sc.keys = keys
	slices.Sort(keys)
	scale := fusionK / (1 + w)
	own := r.sc.ownKeys[:0]
	for rank, k := range keys {
		c := &cs[uint32(k)]
		c.score = scale / float64(fusionK+rank)
		if h := c.c.History; h != nil {
			// The buy-again order: invoices, most first, then the model's.
			own = append(own, uint64(^uint32(min(h.Invoices, math.MaxUint32)))<<32|uint64(rank))
		}
	}
	r.sc.ownKeys = own
	slices.Sort(own)
	for rank, k := range own {
		cs[uint32(keys[uint32(k)])].score += scale * w / float64(fusionK+rank)
	}
}
