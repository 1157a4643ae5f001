package features

import (
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
