package cf

import (
	"cmp"
	"math"
	"slices"
)

// Scorer scores every item of a vocabulary for one customer, given that
// customer's dense interaction vector x (index = vocabulary order). It writes
// len(x) scores into out. Implementations must be safe for concurrent use.
type Scorer interface {
	Score(x, out []float32)
}

// Weight is the value a customer's interaction vector holds for an item bought
// on count distinct invoices. Training, evaluation and serving all build the
// vector through this one function.
func Weight(count float32) float32 {
	if count <= 0 {
		return 0
	}
	return float32(math.Log1p(float64(count)))
}

// Vector fills x (len = vocabulary size) with the weighted row u of m.
func (m *Interactions) Vector(u int, x []float32) {
	clear(x)
	cols, counts := m.Row(u)
	for n, j := range cols {
		x[j] = Weight(counts[n])
	}
}

// TopK returns the indices of the k highest scores, best first, skipping
// indices for which skip returns true (skip may be nil). Ties go to the lower
// index so results are deterministic. NaN scores are never returned.
func TopK(scores []float32, k int, skip func(j int) bool) []int {
	if k <= 0 {
		return nil
	}
	type entry struct {
		j int
		s float32
	}
	better := func(a, b entry) bool { return a.s > b.s || (a.s == b.s && a.j < b.j) }
	heap := make([]entry, 0, k) // min-heap on "better"
	down := func(i int) {
		for {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(heap) && better(heap[m], heap[l]) {
				m = l
			}
			if r < len(heap) && better(heap[m], heap[r]) {
				m = r
			}
			if m == i {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for j, s := range scores {
		e := entry{j, s}
		// Once the heap is full, most items lose to its worst entry: that
		// comparison is cheaper than asking skip, so it comes first.
		if s != s || (len(heap) == k && !better(e, heap[0])) || (skip != nil && skip(j)) {
			continue
		}
		if len(heap) < k {
			heap = append(heap, e)
			for i := len(heap) - 1; i > 0; {
				p := (i - 1) / 2
				if !better(heap[p], heap[i]) {
					break
				}
				heap[i], heap[p] = heap[p], heap[i]
				i = p
			}
			continue
		}
		if better(e, heap[0]) {
			heap[0] = e
			down(0)
		}
	}
	slices.SortFunc(heap, func(a, b entry) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return cmp.Compare(a.j, b.j)
	})
	out := make([]int, len(heap))
	for i, e := range heap {
		out[i] = e.j
	}
	return out
}
