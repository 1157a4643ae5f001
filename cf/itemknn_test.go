package cf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tailorhq/tailor/dataset"
)

// randomMatrix draws customers buying random items on 1-3 invoices each.
func randomMatrix(seed uint64, customers, items int) *Interactions {
	rng := rand.New(rand.NewPCG(seed, 1))
	var ps []dataset.Purchase
	for c := range customers {
		for range 1 + rng.IntN(items/2) {
			it := fmt.Sprintf("%05d", rng.IntN(items))
			for inv := range 1 + rng.IntN(3) {
				ps = append(ps, buy(fmt.Sprint(c), it, fmt.Sprintf("%d-%d", c, inv), inv))
			}
		}
	}
	return matrix(ps)
}

// dense returns X with cell(count) in each stored cell, customers × items.
func dense(m *Interactions, cell func(float32) float32) [][]float64 {
	x := make([][]float64, m.Rows())
	for u := range x {
		x[u] = make([]float64, m.Items.Len())
		cols, counts := m.Row(u)
		for p, j := range cols {
			x[u][j] = float64(cell(counts[p]))
		}
	}
	return x
}

func TestGramMatchesDenseProduct(t *testing.T) {
	m := randomMatrix(7, 40, 25)
	n := m.Items.Len()
	for _, cell := range []func(float32) float32{func(float32) float32 { return 1 }, Weight} {
		x := dense(m, cell)
		g64 := Gram[float64](m, cell)
		g32 := Gram[float32](m, cell)
		for a := range n {
			for b := range n {
				want := 0.0
				for u := range x {
					want += x[u][a] * x[u][b]
				}
				if math.Abs(g64[a*n+b]-want) > 1e-9 || math.Abs(float64(g32[a*n+b])-want) > 1e-4 {
					t.Fatalf("G[%d,%d] = %v / %v, want %v", a, b, g64[a*n+b], g32[a*n+b], want)
				}
			}
		}
	}
}

// knnData: customer 1 buys a, b; 2 buys a, b, c (b twice); 3 buys a.
func knnData() *Interactions {
	return matrix([]dataset.Purchase{
		buy("1", "a", "1", 0), buy("1", "b", "1", 0),
		buy("2", "a", "2", 0), buy("2", "b", "2", 0), buy("2", "b", "3", 1), buy("2", "c", "2", 0),
		buy("3", "a", "4", 0),
	})
}

func TestItemKNNCosine(t *testing.T) {
	m := knnData()
	k := NewItemKNN(m, ItemKNNConfig{})
	s2, s3, s6 := math.Sqrt(2), math.Sqrt(3), math.Sqrt(6)
	want := []float64{
		0, 2 / s6, 1 / s3,
		2 / s6, 0, 1 / s2,
		1 / s3, 1 / s2, 0,
	}
	for i, w := range want {
		if math.Abs(float64(k.Similarity()[i])-w) > 1e-6 {
			t.Fatalf("sim %v, want %v", k.Similarity(), want)
		}
	}
	out := make([]float32, 3)
	k.Score([]float32{2, 0, 1}, out) // 2·row a + 1·row c
	for j, w := range []float64{1 / s3, 4/s6 + 1/s2, 2 / s3} {
		if math.Abs(float64(out[j])-w) > 1e-6 {
			t.Errorf("score %v", out)
		}
	}

	// Weighted: b has log1p(2) for customer 2, others log1p(1) = l.
	kw := NewItemKNN(m, ItemKNNConfig{Weighted: true})
	l, l2 := math.Log(2), math.Log(3)
	wantAB := (l*l + l*l2) / (math.Sqrt(3*l*l) * math.Sqrt(l*l+l2*l2))
	if got := float64(kw.Similarity()[1]); math.Abs(got-wantAB) > 1e-6 {
		t.Errorf("weighted sim(a,b) = %v, want %v", got, wantAB)
	}

	// One neighbour: a keeps b, b keeps a, c keeps b.
	k1 := NewItemKNN(m, ItemKNNConfig{Neighbours: 1})
	want1 := []float64{0, 2 / s6, 0, 2 / s6, 0, 0, 0, 1 / s2, 0}
	for i, w := range want1 {
		if math.Abs(float64(k1.Similarity()[i])-w) > 1e-6 {
			t.Fatalf("pruned sim %v, want %v", k1.Similarity(), want1)
		}
	}
}

func TestItemKNNPruneKeepsTopN(t *testing.T) {
	m := randomMatrix(3, 60, 30)
	n := m.Items.Len()
	full := NewItemKNN(m, ItemKNNConfig{}).Similarity()
	pruned := NewItemKNN(m, ItemKNNConfig{Neighbours: 5}).Similarity()
	for i := range n {
		keep := TopK(full[i*n:(i+1)*n], 5, nil)
		kept := 0
		for j := range n {
			if pruned[i*n+j] != 0 {
				kept++
				if pruned[i*n+j] != full[i*n+j] {
					t.Fatalf("row %d col %d changed", i, j)
				}
			}
		}
		for _, j := range keep {
			if pruned[i*n+j] != full[i*n+j] {
				t.Fatalf("row %d lost neighbour %d", i, j)
			}
		}
		if kept > 5 {
			t.Fatalf("row %d keeps %d", i, kept)
		}
	}
}
