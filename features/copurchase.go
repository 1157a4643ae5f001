package features

import (
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
	// there are cores (the work is the sum of the squared basket sizes); the
	// lists are then inverted in item order, so the result does not depend
	// on the workers. The k best of an item's candidates are kept by a
	// bounded heap on packed keys (sorting every candidate was 60% of the
	// time).
	lists := make([][]nb, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			co := make([]int32, n)
			var touched []int32
			best := make(topKeys, 0, k)
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
				best = best[:0]
				for _, j := range touched {
					best.offer(neighbourKey(j, float32(float64(co[j])/math.Sqrt(count[i]*count[j]))), k)
					co[j] = 0
				}
				slices.Sort(best)
				l := make([]nb, len(best))
				for x, key := range best {
					j, sim := fromNeighbourKey(key)
					l[len(l)-1-x] = nb{j, sim}
				}
				lists[i] = l
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

// neighbourKey packs a neighbour so that a larger key is a better
// neighbour: higher similarity (positive and finite, so its bits order like
// its value), then lower index.
func neighbourKey(j int32, sim float32) uint64 {
	return uint64(math.Float32bits(sim))<<32 | uint64(^uint32(j))
}

func fromNeighbourKey(key uint64) (int32, float32) {
	return int32(^uint32(key)), math.Float32frombits(uint32(key >> 32))
}

// topKeys is a min-heap of the largest keys offered so far.
type topKeys []uint64

// offer keeps key if it is among the k largest seen.
func (h *topKeys) offer(key uint64, k int) {
	s := *h
	switch {
	case k <= 0:
		return
	case len(s) < k:
		s = append(s, key)
		for c := len(s) - 1; c > 0; { // sift up
			p := (c - 1) / 2
			if s[p] <= s[c] {
				break
			}
			s[p], s[c] = s[c], s[p]
			c = p
		}
		*h = s
		return
	case key <= s[0]:
		return
	}
	s[0] = key
	for p := 0; ; { // sift down
		c := 2*p + 1
		if c >= len(s) {
			break
		}
		if c+1 < len(s) && s[c+1] < s[c] {
			c++
		}
		if s[p] <= s[c] {
			break
		}
		s[p], s[c] = s[c], s[p]
		p = c
	}
}
