package cf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tailorhq/tailor/dataset"
	"gonum.org/v1/gonum/mat"
)

func TestEASEMatchesDirectInverse(t *testing.T) {
	m := randomMatrix(11, 50, 20)
	n := m.Items.Len()
	const lambda = 3.0
	e, err := NewEASE(m, lambda)
	if err != nil {
		t.Fatal(err)
	}
	// Independent reference: X binarised, P = (XᵀX + λI)⁻¹ by LU.
	x := dense(m, func(float32) float32 { return 1 })
	xd := mat.NewDense(len(x), n, nil)
	for u, row := range x {
		xd.SetRow(u, row)
	}
	var g, p mat.Dense
	g.Mul(xd.T(), xd)
	for i := range n {
		g.Set(i, i, g.At(i, i)+lambda)
	}
	if err := p.Inverse(&g); err != nil {
		t.Fatal(err)
	}
	b := e.Weights()
	for i := range n {
		for j := range n {
			want := 0.0
			if i != j {
				want = -p.At(i, j) / p.At(j, j)
			}
			if math.Abs(float64(b[i*n+j])-want) > 1e-5 {
				t.Fatalf("B[%d,%d] = %v, want %v", i, j, b[i*n+j], want)
			}
		}
	}
	// Score is x·B.
	v := make([]float32, n)
	v[1], v[4] = 0.5, 2
	out := make([]float32, n)
	e.Score(v, out)
	for j := range n {
		want := 0.5*b[1*n+j] + 2*b[4*n+j]
		if math.Abs(float64(out[j]-want)) > 1e-6 {
			t.Fatalf("score[%d] = %v, want %v", j, out[j], want)
		}
	}
}

func TestEASETinyByHand(t *testing.T) {
	// knnData binarised: G = [[3,2,1],[2,2,1],[1,1,1]]. With λ = 1,
	// G+λI = [[4,2,1],[2,3,1],[1,1,2]], det = 4·5 − 2·3 + 1·(−1) = 13,
	// P = adj/13 with adj = [[5,−3,−1],[−3,7,−2],[−1,−2,8]].
	e, err := NewEASE(knnData(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{
		0, 3.0 / 7, 1.0 / 8,
		3.0 / 5, 0, 2.0 / 8,
		1.0 / 5, 2.0 / 7, 0,
	}
	for i, w := range want {
		if math.Abs(float64(e.Weights()[i])-w) > 1e-6 {
			t.Fatalf("B = %v, want %v", e.Weights(), want)
		}
	}
}

func TestEASERejectsBadLambda(t *testing.T) {
	for _, l := range []float64{0, -1, math.NaN()} {
		if _, err := NewEASE(knnData(), l); err == nil {
			t.Errorf("λ=%v accepted", l)
		}
	}
}

// BenchmarkNewEASE times one fit at the size of the shipped data (about 3,400
// items, 4,000 customers with 40 items each):
//
//	go test ./cf -run '^$' -bench NewEASE -benchtime 1x
func BenchmarkNewEASE(b *testing.B) {
	const items, customers, perCustomer = 3400, 4000, 40
	rng := rand.New(rand.NewPCG(5, 5))
	var ps []dataset.Purchase
	for it := range items { // every item bought at least once
		ps = append(ps, buy("c0", fmt.Sprintf("%05d", it), "i0", 0))
	}
	for c := 1; c < customers; c++ {
		for range perCustomer {
			ps = append(ps, buy(fmt.Sprint(c), fmt.Sprintf("%05d", rng.IntN(items)), fmt.Sprint(c), 0))
		}
	}
	m := matrix(ps)
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewEASE(m, 200); err != nil {
			b.Fatal(err)
		}
	}
}
