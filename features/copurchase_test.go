package features

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestCoPurchase(t *testing.T) {
	// Items 0..3; customers: {0,1}, {0,1,2}, {0,2}, {3}.
	stats := make([]ItemStats, 4)
	CoPurchase(stats, [][]int32{{0, 1}, {0, 1, 2}, {0, 2}, {3}}, 1)
	// 0's nearest: 1 and 2 tie at 2/√6, the lower index wins; 1's and 2's: 0
	// (2/√6 against 1/√4).
	if got := stats[0].CoBoughtBy; !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("0 is a neighbour of %v", got)
	}
	if got := stats[1].CoBoughtBy; !slices.Equal(got, []int32{0}) {
		t.Fatalf("1 is a neighbour of %v", got)
	}
	if len(stats[2].CoBoughtBy) != 0 || len(stats[3].CoBoughtBy) != 0 {
		t.Fatalf("2 or 3 are neighbours: %v %v", stats[2].CoBoughtBy, stats[3].CoBoughtBy)
	}
	out := make([]float32, 4)
	AddCoBought(&stats[0], out) // the customer bought item 0
	c := Candidate{Item: &stats[1], ItemIndex: 1, CoBought: out, Discover: true}
	var v float32
	for _, d := range Propensity() {
		if d.Name == "copurchase" {
			v, _ = d.value(&c)
		}
	}
	if want := stats[0].CoBoughtSims[0]; v != want || want <= 0 {
		t.Fatalf("copurchase %v, want %v", v, want)
	}
	c.Discover = false
	for _, d := range Propensity() {
		if d.Name == "copurchase" {
			if v, ok := d.value(&c); v != 0 || !ok {
				t.Fatalf("copurchase outside discover mode: %v, %v", v, ok)
			}
		}
	}
}

// TestCoPurchaseKeepsTheBestK holds CoPurchase's selection to a full sort
// of every item's candidates (similarity descending, then index), on random
// baskets small enough for many ties.
func TestCoPurchaseKeepsTheBestK(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const n = 40
	baskets := make([][]int32, 300)
	for c := range baskets {
		for j := range int32(n) {
			if rng.IntN(8) == 0 {
				baskets[c] = append(baskets[c], j)
			}
		}
	}
	for _, k := range []int{0, 1, 3, 50} {
		got := make([]ItemStats, n)
		CoPurchase(got, baskets, k)
		want := make([]ItemStats, n)
		coPurchaseBySort(want, baskets, k)
		for i := range got {
			if !slices.Equal(got[i].CoBoughtBy, want[i].CoBoughtBy) || !slices.Equal(got[i].CoBoughtSims, want[i].CoBoughtSims) {
				t.Fatalf("k=%d item %d: neighbour of %v %v, want %v %v", k, i,
					got[i].CoBoughtBy, got[i].CoBoughtSims, want[i].CoBoughtBy, want[i].CoBoughtSims)
			}
		}
	}
}

// coPurchaseBySort is CoPurchase written plainly.
func coPurchaseBySort(stats []ItemStats, baskets [][]int32, k int) {
	n := len(stats)
	count := make([]float64, n)
	co := make([][]float64, n)
	for i := range co {
		co[i] = make([]float64, n)
	}
	for _, b := range baskets {
		for _, i := range b {
			count[i]++
			for _, j := range b {
				if i != j {
					co[i][j]++
				}
			}
		}
	}
	for i := range n {
		type nb struct {
			j   int32
			sim float32
		}
		var cand []nb
		for j := range n {
			if co[i][j] > 0 {
				cand = append(cand, nb{int32(j), float32(co[i][j] / math.Sqrt(count[i]*count[j]))})
			}
		}
		slices.SortFunc(cand, func(a, b nb) int {
			return cmp.Or(cmp.Compare(b.sim, a.sim), cmp.Compare(a.j, b.j))
		})
		for _, c := range cand[:min(k, len(cand))] {
			stats[c.j].CoBoughtBy = append(stats[c.j].CoBoughtBy, int32(i))
			stats[c.j].CoBoughtSims = append(stats[c.j].CoBoughtSims, c.sim)
		}
	}
}
