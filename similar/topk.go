package similar

import "slices"

// topK reorders xs so that its first min(k, len(xs)) elements are the best
// by cmp (negative: a is better than b), sorted best first, and returns
// them. cmp must be a strict total order, so the result is deterministic.
// It costs O(n log k), against O(n log n) for sorting everything.
func topK[T any](xs []T, k int, cmp func(a, b T) int) []T {
	if k <= 0 {
		return xs[:0]
	}
	if len(xs) <= k {
		slices.SortFunc(xs, cmp)
		return xs
	}
	h := xs[:k] // a heap with the worst of the best k at the root
	worse := func(a, b T) bool { return cmp(a, b) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			w := l
			if r := l + 1; r < k && worse(h[r], h[l]) {
				w = r
			}
			if !worse(h[w], h[i]) {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, x := range xs[k:] {
		if cmp(x, h[0]) < 0 {
			h[0] = x
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h
}
