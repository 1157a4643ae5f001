package cf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// ALSParams are the hyper-parameters of implicit ALS (Hu, Koren and Volinsky,
// 2008) as Tailor trains it.
type ALSParams struct {
	Factors    int     `json:"factors"`
	Lambda     float64 `json:"lambda"`      // L2 penalty of the factor updates
	Alpha      float64 `json:"alpha"`       // confidence c = 1 + Alpha·Weight(count)
	Iterations int     `json:"iterations"`  // alternating sweeps
	CGSteps    int     `json:"cg_steps"`    // conjugate-gradient steps per row update
	FoldLambda float64 `json:"fold_lambda"` // ridge of the linear fold-in used at serving
	Seed       uint64  `json:"seed"`
}

// ALS holds the factors of a fitted implicit ALS model.
type ALS struct {
	Params ALSParams
	Users  *mat.Dense // customers × factors, row order of the training matrix
	Items  *mat.Dense // items × factors, vocabulary order
	rows   *Interactions
}

// FitALS trains implicit ALS on m. The result depends only on m and p: row
// updates are independent, so the two workers cannot change it.
func FitALS(m *Interactions, p ALSParams, progress func(iter int)) (*ALS, error) {
	if p.Factors <= 0 || p.Iterations <= 0 || p.CGSteps <= 0 || p.Lambda < 0 || p.Alpha <= 0 {
		return nil, fmt.Errorf("als: invalid parameters %+v", p)
	}
	nu, ni, k := m.Rows(), m.Items.Len(), p.Factors
	if nu == 0 || ni == 0 {
		return nil, fmt.Errorf("als: nothing to fit: %d customers × %d items", nu, ni)
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x7a110))
	users := mat.NewDense(nu, k, nil)
	items := mat.NewDense(ni, k, nil)
	for _, d := range []*mat.Dense{users, items} {
		raw := d.RawMatrix().Data
		for i := range raw {
			raw[i] = rng.NormFloat64() * 0.01
		}
	}
	conf := make([]float64, len(m.Counts))
	for n, c := range m.Counts {
		conf[n] = 1 + p.Alpha*float64(Weight(c))
	}
	colPtr, rows, counts := m.Transpose()
	confT := make([]float64, len(counts))
	for n, c := range counts {
		confT[n] = 1 + p.Alpha*float64(Weight(c))
	}
	rowsInt := make([]int32, len(rows))
	copy(rowsInt, rows)
	for it := 0; it < p.Iterations; it++ {
		solveSide(users, items, m.RowPtr, m.Cols, conf, p)
		solveSide(items, users, colPtr, rowsInt, confT, p)
		if progress != nil {
			progress(it + 1)
		}
	}
	return &ALS{Params: p, Users: users, Items: items, rows: m}, nil
}

// solveSide updates every row of x against the fixed factors y with a few
// conjugate-gradient steps (Takács et al.), warm-started from the current x.
func solveSide(x, y *mat.Dense, ptr []int, idx []int32, conf []float64, p ALSParams) {
	k := p.Factors
	var yty mat.SymDense
	yty.SymOuterK(1, y.T())
	for i := 0; i < k; i++ {
		yty.SetSym(i, i, yty.At(i, i)+p.Lambda)
	}
	g := mat.NewDense(k, k, nil)
	g.Copy(&yty)
	gram := g.RawMatrix().Data
	yraw, xraw := y.RawMatrix().Data, x.RawMatrix().Data
	rows, _ := x.Dims()
	const workers = 2
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r, pv, ap := make([]float64, k), make([]float64, k), make([]float64, k)
			for u := w; u < rows; u += workers {
				xu := xraw[u*k : (u+1)*k]
				cgRow(xu, yraw, gram, idx[ptr[u]:ptr[u+1]], conf[ptr[u]:ptr[u+1]], k, p.CGSteps, r, pv, ap)
			}
		}(w)
	}
	wg.Wait()
}

func cgRow(x, y, gram []float64, idx []int32, conf []float64, k, steps int, r, p, ap []float64) {
	// r = b − A·x with A = YᵀY + λI + Σ (c−1) yᵢyᵢᵀ and b = Σ c yᵢ.
	matVec(gram, x, r, k)
	for i := range r {
		r[i] = -r[i]
	}
	for n, j := range idx {
		yj := y[int(j)*k : int(j+1)*k]
		c := conf[n]
		s := c - (c-1)*dot(yj, x)
		axpy(s, yj, r)
	}
	copy(p, r)
	rs := dot(r, r)
	for s := 0; s < steps && rs > 1e-20; s++ {
		matVec(gram, p, ap, k)
		for n, j := range idx {
			yj := y[int(j)*k : int(j+1)*k]
			axpy((conf[n]-1)*dot(yj, p), yj, ap)
		}
		a := rs / dot(p, ap)
		axpy(a, p, x)
		axpy(-a, ap, r)
		next := dot(r, r)
		for i := range p {
			p[i] = r[i] + next/rs*p[i]
		}
		rs = next
	}
}

func matVec(a, x, out []float64, k int) {
	for i := 0; i < k; i++ {
		out[i] = dot(a[i*k:(i+1)*k], x)
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

// UserScorer scores with the fitted user factors: score = uᵤ·Yᵀ. It is the
// "implicit ALS" baseline; it only knows customers present at training.
func (a *ALS) UserScorer() *ALSUsers { return &ALSUsers{a: a} }

// ALSUsers is a Scorer-like view that needs the customer row, not a vector.
type ALSUsers struct{ a *ALS }

// ScoreRow writes the scores of training row u into out.
func (s *ALSUsers) ScoreRow(u int, out []float32) {
	k := s.a.Params.Factors
	uf := s.a.Users.RawMatrix().Data[u*k : (u+1)*k]
	yraw := s.a.Items.RawMatrix().Data
	for j := range out {
		out[j] = float32(dot(uf, yraw[j*k:(j+1)*k]))
	}
}

// FoldIn returns the linear model served under the CF contract: a customer's
// factors are the ridge projection u = (YᵀY + λI)⁻¹ Yᵀ x of the interaction
// vector, and the scores are u·Yᵀ. So scores = x · W · Yᵀ with
// W = Y (YᵀY + λI)⁻¹, and a new view or cart changes the answer at once.
func (a *ALS) FoldIn() (*LowRank, error) {
	ni, k := a.Items.Dims()
	var g mat.SymDense
	g.SymOuterK(1, a.Items.T())
	for i := 0; i < k; i++ {
		g.SetSym(i, i, g.At(i, i)+a.Params.FoldLambda)
	}
	var ch mat.Cholesky
	if !ch.Factorize(&g) {
		return nil, fmt.Errorf("als fold-in: YᵀY + λI is not positive definite (λ=%g)", a.Params.FoldLambda)
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, fmt.Errorf("als fold-in: %w", err)
	}
	var w mat.Dense
	w.Mul(a.Items, &inv)
	lr := &LowRank{N: ni, K: k, W: make([]float32, ni*k), Y: make([]float32, ni*k)}
	for n, v := range w.RawMatrix().Data {
		lr.W[n] = float32(v)
	}
	for n, v := range a.Items.RawMatrix().Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("als fold-in: non-finite item factor")
		}
		lr.Y[n] = float32(v)
	}
	return lr, nil
}
