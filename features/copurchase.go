package features

import (
	"fmt"
	"math"
	"slices"
)

// CoPurchaseFeature is the name of the feature the neighbours feed.
const CoPurchaseFeature = "copurchase"

// CoPurchaseMethod names how the stored neighbour lists are made: EASE
// item-item weights. A propensity model that reads the feature declares it
// in its metadata (model.MetaCoPurchase), and the server refuses one whose
// neighbours were made otherwise (cosine similarities, before 2026-12-03).
const CoPurchaseMethod = "ease"

// CoPurchaseNeighbours is how many neighbours SetCoPurchase keeps per item.
const CoPurchaseNeighbours = 50

// CoLink is one stored co-purchase neighbour of an item: a customer who
// bought Item adds Weight to the item's copurchase feature.
type CoLink struct {
	Item   string  `json:"item"`
	Weight float32 `json:"w"`
}

// SetCoPurchase sets every item's CoPurchase from w, an n × n row-major
// item-item weight matrix over ids (EASE's B: w[j·n+i] is how much buying j
// predicts buying i): item i keeps the k items j ≠ i with the largest
// positive finite w[j·n+i], best first, ties broken by index. It then links
// them as LinkCoPurchase does. Deterministic.
func SetCoPurchase(stats []ItemStats, ids []string, w []float32, k int) error {
	n := len(stats)
	if len(ids) != n || len(w) != n*n {
		return fmt.Errorf("features: co-purchase: %d items, %d ids and %d weights", n, len(ids), len(w))
	}
	// One bounded heap per item i, filled row by row so that w is read in
	// memory order.
	best := make([]topKeys, n)
	for j := range n {
		row := w[j*n : j*n+n]
		for i, v := range row {
			if i != j && v > 0 && !math.IsInf(float64(v), 1) {
				best[i].offer(neighbourKey(int32(j), v), k)
			}
		}
	}
	for i := range stats {
		slices.Sort(best[i])
		l := make([]CoLink, len(best[i]))
		for x, key := range best[i] {
			j, v := fromNeighbourKey(key)
			l[len(l)-1-x] = CoLink{Item: ids[j], Weight: v}
		}
		stats[i].CoPurchase = l
	}
	index := make(map[string]int, n)
	for j, id := range ids {
		index[id] = j
	}
	return LinkCoPurchase(stats, func(id string) (int, bool) { j, ok := index[id]; return j, ok })
}

// LinkCoPurchase sets every item's CoBoughtBy and CoBoughtSims, the
// inverse of the stored CoPurchase lists: the items that have it among
// their neighbours, in item order, with its weight in each. AddCoBought
// then needs one pass over the customer's items. index finds an item's
// position by its exact id. A list longer than CoPurchaseNeighbours, a
// neighbour index does not know, the item itself, a neighbour listed twice
// or a weight that is not positive and finite is an error naming the items.
func LinkCoPurchase(stats []ItemStats, index func(string) (int, bool)) error {
	for i := range stats {
		stats[i].CoBoughtBy, stats[i].CoBoughtSims = nil, nil
	}
	listed := make([]int, len(stats)) // listed[j] == i+1: j is already among i's neighbours
	for i := range stats {
		if n := len(stats[i].CoPurchase); n > CoPurchaseNeighbours {
			return fmt.Errorf("item %q: %d co-purchase neighbours, at most %d", stats[i].Item, n, CoPurchaseNeighbours)
		}
		for _, l := range stats[i].CoPurchase {
			j, ok := index(l.Item)
			switch {
			case !ok || j < 0 || j >= len(stats):
				return fmt.Errorf("item %q: co-purchase neighbour %q is not in the catalog", stats[i].Item, l.Item)
			case j == i:
				return fmt.Errorf("item %q: lists itself as a co-purchase neighbour", stats[i].Item)
			case listed[j] == i+1:
				return fmt.Errorf("item %q: co-purchase neighbour %q is listed twice", stats[i].Item, l.Item)
			case !(l.Weight > 0) || math.IsInf(float64(l.Weight), 1):
				return fmt.Errorf("item %q: co-purchase neighbour %q has weight %v, want a positive finite number", stats[i].Item, l.Item, l.Weight)
			}
			listed[j] = i + 1
			stats[j].CoBoughtBy = append(stats[j].CoBoughtBy, int32(i))
			stats[j].CoBoughtSims = append(stats[j].CoBoughtSims, l.Weight)
		}
	}
	return nil
}

// AddCoBought adds the weight of s to every item that has s among its
// co-purchase neighbours: called for each item the customer bought, it
// leaves in out (by vocabulary index) the copurchase feature of every item.
func AddCoBought(s *ItemStats, out []float32) {
	for x, j := range s.CoBoughtBy {
		if int(j) < len(out) {
			out[j] += s.CoBoughtSims[x]
		}
	}
}

// neighbourKey packs a neighbour so that a larger key is a better
// neighbour: higher weight (positive and finite, so its bits order like
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
