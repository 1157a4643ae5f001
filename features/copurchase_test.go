package features

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSetCoPurchase(t *testing.T) {
	ids := []string{"a", "b", "c", "d"}
	// w[j][i]: how much buying j predicts i. Column a: b 0.5, c 0.5 (a tie,
	// the lower index first), d −0.2 (negative: never a neighbour); column
	// b: a 0.3, c 0.1; column c: none positive; d's own weight is ignored.
	w := []float32{
		/* a */ 0, 0.3, 0, 0,
		/* b */ 0.5, 0, -1, 0,
		/* c */ 0.5, 0.1, 0, 0,
		/* d */ -0.2, 0, 0, 9,
	}
	stats := []ItemStats{{Item: "a"}, {Item: "b"}, {Item: "c"}, {Item: "d"}}
	if err := SetCoPurchase(stats, ids, w, 2); err != nil {
		t.Fatal(err)
	}
	want := [][]CoLink{{{"b", 0.5}, {"c", 0.5}}, {{"a", 0.3}, {"c", 0.1}}, {}, {}}
	for i := range stats {
		if !slices.Equal(stats[i].CoPurchase, want[i]) {
			t.Errorf("%s: neighbours %v, want %v", ids[i], stats[i].CoPurchase, want[i])
		}
	}
	// The inverse: buying b adds 0.5 to a; buying c adds 0.5 to a and 0.1 to b.
	if got := stats[1].CoBoughtBy; !slices.Equal(got, []int32{0}) {
		t.Errorf("b counts for %v, want [0]", got)
	}
	if got := stats[2].CoBoughtBy; !slices.Equal(got, []int32{0, 1}) || !slices.Equal(stats[2].CoBoughtSims, []float32{0.5, 0.1}) {
		t.Errorf("c counts for %v %v, want [0 1] [0.5 0.1]", got, stats[2].CoBoughtSims)
	}

	// A customer who bought b and c: a gets 0.5 + 0.5, b 0.1, in discover
	// mode only.
	out := make([]float32, 4)
	AddCoBought(&stats[1], out)
	AddCoBought(&stats[2], out)
	if !slices.Equal(out, []float32{1, 0.1, 0, 0}) {
		t.Fatalf("copurchase sums %v, want [1 0.1 0 0]", out)
	}
	value := func(c *Candidate) float32 {
		for _, d := range Propensity() {
			if d.Name == "copurchase" {
				v, ok := d.value(c)
				if !ok {
					t.Fatalf("copurchase has no value for item %d", c.ItemIndex)
				}
				return v
			}
		}
		t.Fatal("no copurchase feature")
		return 0
	}
	c := Candidate{Item: &stats[0], ItemIndex: 0, CoBought: out, Discover: true}
	if v := value(&c); v != 1 {
		t.Fatalf("copurchase of a in discover mode %v, want 1", v)
	}
	c.Discover = false
	if v := value(&c); v != 0 {
		t.Fatalf("copurchase outside discover mode %v, want 0", v)
	}
}

func TestLinkCoPurchaseRefusesBadLinks(t *testing.T) {
	index := func(id string) (int, bool) {
		j := slices.Index([]string{"a", "b"}, id)
		return j, j >= 0
	}
	for _, tc := range []struct {
		name string
		link CoLink
		want string
	}{
		{"unknown item", CoLink{"zz", 0.5}, `item "a": co-purchase neighbour "zz" is not in the catalog`},
		{"zero weight", CoLink{"b", 0}, `neighbour "b" has weight 0`},
		{"NaN weight", CoLink{"b", float32(math.NaN())}, `has weight NaN`},
		{"infinite weight", CoLink{"b", float32(math.Inf(1))}, `has weight +Inf`},
		{"itself", CoLink{"a", 0.5}, `item "a": lists itself as a co-purchase neighbour`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stats := []ItemStats{{Item: "a", CoPurchase: []CoLink{tc.link}}, {Item: "b"}}
			err := LinkCoPurchase(stats, index)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLinkCoPurchaseRefusesBadLists(t *testing.T) {
	ids := make([]string, CoPurchaseNeighbours+2)
	for j := range ids {
		ids[j] = fmt.Sprint(j)
	}
	index := func(id string) (int, bool) { j := slices.Index(ids, id); return j, j >= 0 }
	stats := func(l []CoLink) []ItemStats {
		s := make([]ItemStats, len(ids))
		for j := range s {
			s[j].Item = ids[j]
		}
		s[0].CoPurchase = l
		return s
	}
	twice := []CoLink{{"1", 0.5}, {"2", 0.4}, {"1", 0.3}}
	if err := LinkCoPurchase(stats(twice), index); err == nil || !strings.Contains(err.Error(), `item "0": co-purchase neighbour "1" is listed twice`) {
		t.Errorf("a neighbour listed twice: %v", err)
	}
	var long []CoLink
	for j := 1; j < len(ids); j++ {
		long = append(long, CoLink{ids[j], 0.1})
	}
	if err := LinkCoPurchase(stats(long), index); err == nil || !strings.Contains(err.Error(), fmt.Sprintf(`item "0": %d co-purchase neighbours, at most %d`, len(long), CoPurchaseNeighbours)) {
		t.Errorf("%d neighbours: %v", len(long), err)
	}
	if err := LinkCoPurchase(stats(long[:CoPurchaseNeighbours]), index); err != nil {
		t.Errorf("%d neighbours: %v", CoPurchaseNeighbours, err)
	}
}

// TestSetCoPurchaseKeepsTheBestK holds SetCoPurchase's selection to a full
// sort of every item's column (weight descending, then index), on random
// weights coarse enough for many ties.
func TestSetCoPurchaseKeepsTheBestK(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const n = 40
	ids := make([]string, n)
	for j := range ids {
		ids[j] = string(rune('A'+j/26)) + string(rune('a'+j%26))
	}
	w := make([]float32, n*n)
	for x := range w {
		w[x] = float32(rng.IntN(7)-3) / 4 // −0.75 … 0.75
	}
	for _, k := range []int{0, 1, 3, 50} {
		stats := make([]ItemStats, n)
		for i := range stats {
			stats[i].Item = ids[i]
		}
		if err := SetCoPurchase(stats, ids, w, k); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			var want []CoLink
			for j := range n {
				if j != i && w[j*n+i] > 0 {
					want = append(want, CoLink{ids[j], w[j*n+i]})
				}
			}
			slices.SortStableFunc(want, func(a, b CoLink) int { return cmp.Compare(b.Weight, a.Weight) })
			want = want[:min(k, len(want))]
			if !slices.Equal(stats[i].CoPurchase, want) {
				t.Fatalf("k=%d item %d: %v, want %v", k, i, stats[i].CoPurchase, want)
			}
		}
	}
}

func TestSetCoPurchaseRefusesMismatchedSizes(t *testing.T) {
	if err := SetCoPurchase(make([]ItemStats, 2), []string{"a", "b"}, make([]float32, 3), 1); err == nil {
		t.Fatal("3 weights for 2 items accepted")
	}
}
