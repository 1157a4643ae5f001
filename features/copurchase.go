package features

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// CoPurchaseNeighbours is how many neighbours CoPurchase keeps per item.
const CoPurchaseNeighbours = 50

// CoPurchase sets every item's CoBoughtBy and CoBoughtSims: the items
// that have it among their k most co-bought items by cosine similarity over
// buyers (customers who bought both / √(buyers of one × buyers of the
// other)), ties broken by index. baskets holds each customer's items as
// indices into stats. Deterministic.
func CoPurchase(stats []ItemStats, baskets [][]int32, k int) {
	n := len(stats)
	buyers := make([][]int32, n) // item -> customers
	count := make([]float64, n)
	for c, b := range baskets {
		for _, j := range b {
			buyers[j] = append(buyers[j], int32(c))
			count[j]++
		}
	}
	for i := range stats {
		stats[i].CoBoughtBy, stats[i].CoBoughtSims = nil, nil
	}
	type nb struct {
		j   int32
		sim float32
	}
	// Each item's neighbours are found on their own, by as many workers as
	// there are cores (the work is the sum of the squared basket sizes, about
	// a second on two cores for the shipped data); the lists are then
	// inverted in item order, so the result does not depend on the workers.
	lists := make([][]nb, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			co := make([]int32, n)
			var touched []int32
			var cand []nb
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				touched = touched[:0]
				for _, c := range buyers[i] {
					for _, j := range baskets[c] {
						if int(j) == i {
							continue
						}
						if co[j] == 0 {
							touched = append(touched, j)
						}
						co[j]++
					}
				}
				cand = cand[:0]
				for _, j := range touched {
					cand = append(cand, nb{j, float32(float64(co[j]) / math.Sqrt(count[i]*count[j]))})
					co[j] = 0
				}
				slices.SortFunc(cand, func(a, b nb) int {
					if c := cmp.Compare(b.sim, a.sim); c != 0 {
						return c
					}
					return cmp.Compare(a.j, b.j)
				})
				lists[i] = slices.Clone(cand[:min(k, len(cand))])
			}
		})
	}
	wg.Wait()
	for i, l := range lists {
		for _, c := range l {
			// i's neighbour c.j: a customer who bought c.j counts for i.
			stats[c.j].CoBoughtBy = append(stats[c.j].CoBoughtBy, int32(i))
			stats[c.j].CoBoughtSims = append(stats[c.j].CoBoughtSims, c.sim)
		}
	}
}

// AddCoBought adds the similarity of s to every item that has s among its
// most co-bought: called for each item the customer bought, it leaves in
// out (by vocabulary index) the copurchase feature of every item.
func AddCoBought(s *ItemStats, out []float32) {
	for x, j := range s.CoBoughtBy {
		if int(j) < len(out) {
			out[j] += s.CoBoughtSims[x]
		}
	}
}
