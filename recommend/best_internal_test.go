package recommend

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBestIsTheSortedPrefix holds the partial selection to what sorting
// every candidate gives: the same k candidates in the same order, ties
// (equal scores, equal CF scores) included.
func TestBestIsTheSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := 1 + rng.IntN(400)
		cs := make([]cand, n)
		for i := range cs {
			// Few distinct values, so that ties are common.
			cs[i] = cand{j: rng.IntN(5000), score: float64(rng.IntN(20)) / 20, cf: float32(rng.IntN(4))}
		}
		k := 1 + rng.IntN(n+5)
		want := slices.Clone(cs)
		slices.SortFunc(want, func(a, b cand) int { return compareCands(&a, &b) })
		want = want[:min(k, n)]
		r := &run{req: Request{K: k}}
		got := r.best(slices.Clone(cs))
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d of %d kept with k=%d, want %d", trial, len(got), n, k, len(want))
		}
		for i := range got {
			if got[i].j != want[i].j || got[i].score != want[i].score || got[i].cf != want[i].cf {
				t.Fatalf("trial %d (n=%d, k=%d): place %d is %+v, want %+v", trial, n, k, i+1, got[i], want[i])
			}
		}
	}
}
