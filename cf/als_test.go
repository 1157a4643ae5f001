package cf_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/dataset"
	"gonum.org/v1/gonum/mat"
)

// twoGroups builds 30 customers who buy only a01..a10 and 30 who buy only
// b01..b10 (a random 3–8 of them, on 1–3 invoices each), plus "Aprobe", who
// bought a01..a03 only. The vocabulary interleaves the groups.
func twoGroups(seed uint64) *cf.Interactions {
	rng := rand.New(rand.NewPCG(seed, 3))
	var vocab []string
	for i := 1; i <= 10; i++ {
		vocab = append(vocab, fmt.Sprintf("a%02d", i), fmt.Sprintf("b%02d", i))
	}
	var ps []dataset.Purchase
	add := func(cust, item string, invoices int) {
		for n := range invoices {
			ps = append(ps, dataset.Purchase{Customer: cust, Item: item, Invoice: fmt.Sprintf("%s-%d", cust, n),
				Quantity: 1, Price: 1, Time: time.Date(2011, 1, 1+n, 0, 0, 0, 0, time.UTC)})
		}
	}
	for _, g := range []string{"A", "B"} {
		for c := range 30 {
			perm := rng.Perm(10)
			for _, i := range perm[:3+rng.IntN(6)] {
				add(fmt.Sprintf("%s%02d", g, c), fmt.Sprintf("%s%02d", strings.ToLower(g), i+1), 1+rng.IntN(3))
			}
		}
	}
	for _, it := range []string{"a01", "a02", "a03"} {
		add("Aprobe", it, 2)
	}
	return cf.BuildInteractions(ps, cf.NewVocabulary(vocab))
}

func alsParams() cf.ALSParams {
	return cf.ALSParams{Factors: 8, Lambda: 20, Alpha: 5, Iterations: 10, CGSteps: 3, FoldLambda: 1, Seed: 20111031}
}

func fitALS(t *testing.T, m *cf.Interactions, p cf.ALSParams, progress func(int)) *cf.ALS {
	t.Helper()
	a, err := cf.FitALS(m, p, progress)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkGroupOrder fails unless every item of the bought items' group (the
// first letter) that was not bought scores above every item of the other group.
func checkGroupOrder(t *testing.T, who string, vocab *cf.Vocabulary, scores []float32, bought ...string) {
	t.Helper()
	lowOwn, highOther := float32(math.Inf(1)), float32(math.Inf(-1))
	for j, s := range scores {
		id := vocab.ID(j)
		switch {
		case math.IsNaN(float64(s)):
			t.Fatalf("%s: score of %s is NaN", who, id)
		case slices.Contains(bought, id):
		case id[0] == bought[0][0]:
			lowOwn = min(lowOwn, s)
		default:
			highOther = max(highOther, s)
		}
	}
	if !(lowOwn > highOther) {
		t.Errorf("%s: lowest unbought own-group item %v is not above highest other-group item %v; scores %v", who, lowOwn, highOther, scores)
	}
}

// vector is the weighted interaction vector of a customer given invoice counts.
func vector(vocab *cf.Vocabulary, counts map[string]float32) []float32 {
	x := make([]float32, vocab.Len())
	for id, c := range counts {
		j, _ := vocab.Index(id)
		x[j] = cf.Weight(c)
	}
	return x
}

func TestALSSeparatesGroups(t *testing.T) {
	m := twoGroups(1)
	a := fitALS(t, m, alsParams(), nil)
	n := m.Items.Len()
	// The training customer, by its user factors.
	u, ok := m.CustomerRow("Aprobe")
	if !ok {
		t.Fatal("Aprobe is not a row")
	}
	scores := make([]float32, n)
	a.UserScorer().ScoreRow(u, scores)
	checkGroupOrder(t, "user factors", m.Items, scores, "a01", "a02", "a03")
	lr, err := a.FoldIn()
	if err != nil {
		t.Fatal(err)
	}
	// New customers, never seen at training, through the fold-in.
	lr.Score(vector(m.Items, map[string]float32{"a04": 1, "a06": 2, "a09": 3}), scores)
	checkGroupOrder(t, "fold-in of a new a-customer", m.Items, scores, "a04", "a06", "a09")
	lr.Score(vector(m.Items, map[string]float32{"b05": 1}), scores)
	checkGroupOrder(t, "fold-in of a new b-customer", m.Items, scores, "b05")
}

// TestALSSolvesNormalEquations: with as many CG steps as factors CG is exact,
// so each row of a sweep solves the implicit-ALS normal equations against the
// fixed side F: (FᵀCF + λI) x = FᵀCp, with c = 1 + α·Weight(count) and p = 1
// where bought, c = 1 and p = 0 elsewhere. Items are solved against the final
// users; users against the items of a fit one iteration shorter (the same run
// stopped earlier, as the fit is deterministic).
func TestALSSolvesNormalEquations(t *testing.T) {
	m := twoGroups(6)
	p := alsParams()
	p.Lambda, p.CGSteps, p.Iterations = 2, p.Factors, 3
	a := fitALS(t, m, p, nil)
	p.Iterations--
	prev := fitALS(t, m, p, nil)
	// bought(u, i) is the invoice count of customer row u for item i.
	bought := func(u, i int) float32 {
		cols, counts := m.Row(u)
		if n := slices.Index(cols, int32(i)); n >= 0 {
			return counts[n]
		}
		return 0
	}
	check := func(side string, x, fixed *mat.Dense, count func(row, other int) float32) {
		rows, k := x.Dims()
		others, _ := fixed.Dims()
		for r := range rows {
			g, b := mat.NewSymDense(k, nil), mat.NewVecDense(k, nil)
			for o := range others {
				c := 1.0
				if n := count(r, o); n > 0 {
					c = 1 + p.Alpha*float64(cf.Weight(n))
					b.AddScaledVec(b, c, fixed.RowView(o))
				}
				g.SymRankOne(g, c, fixed.RowView(o))
			}
			for f := range k {
				g.SetSym(f, f, g.At(f, f)+p.Lambda)
			}
			var want mat.VecDense
			if err := want.SolveVec(g, b); err != nil {
				t.Fatal(err)
			}
			if got := x.RowView(r); !mat.EqualApprox(got, &want, 1e-6) {
				t.Fatalf("%s row %d: factors %v, normal equations give %v", side, r, mat.Formatted(got.T()), mat.Formatted(want.T()))
			}
		}
	}
	check("items", a.Items, a.Users, func(i, u int) float32 { return bought(u, i) })
	check("users", a.Users, prev.Items, bought)
}

func TestFitALSDeterministic(t *testing.T) {
	m := twoGroups(2)
	p := alsParams()
	a1 := fitALS(t, m, p, nil)
	var iters []int
	a2 := fitALS(t, m, p, func(it int) { iters = append(iters, it) })
	if !mat.Equal(a1.Users, a2.Users) || !mat.Equal(a1.Items, a2.Items) {
		t.Error("two fits with the same parameters differ")
	}
	if !slices.Equal(iters, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("progress reported %v, want 1..10", iters)
	}
	p.Seed++
	a3 := fitALS(t, m, p, nil)
	if mat.EqualApprox(a1.Items, a3.Items, 1e-6) || mat.EqualApprox(a1.Users, a3.Users, 1e-6) {
		t.Error("a different seed gave the same factors")
	}
}

func TestFitALSRejectsInvalidParams(t *testing.T) {
	m := twoGroups(3)
	for name, edit := range map[string]func(*cf.ALSParams){
		"zero factors":    func(p *cf.ALSParams) { p.Factors = 0 },
		"zero iterations": func(p *cf.ALSParams) { p.Iterations = 0 },
		"zero CG steps":   func(p *cf.ALSParams) { p.CGSteps = 0 },
		"negative lambda": func(p *cf.ALSParams) { p.Lambda = -0.5 },
		"zero alpha":      func(p *cf.ALSParams) { p.Alpha = 0 },
	} {
		p := alsParams()
		edit(&p)
		if a, err := cf.FitALS(m, p, nil); err == nil || a != nil {
			t.Errorf("%s: FitALS = %v, %v; want an error", name, a, err)
		}
	}
	p := alsParams()
	p.Lambda = 0
	if _, err := cf.FitALS(m, p, nil); err != nil {
		t.Errorf("lambda 0 is valid: %v", err)
	}
	// No purchases: an error, not a panic in the matrix library.
	empty := cf.BuildInteractions(nil, cf.NewVocabulary([]string{"a", "b"}))
	if a, err := cf.FitALS(empty, alsParams(), nil); err == nil || a != nil || !strings.Contains(err.Error(), "0 customers × 2 items") {
		t.Errorf("no customers: FitALS = %v, %v; want an error", a, err)
	}
}

func TestLowRankScoreMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n, k = 7, 3
	lr := &cf.LowRank{N: n, K: k, W: make([]float32, n*k), Y: make([]float32, n*k)}
	for i := range lr.W {
		lr.W[i], lr.Y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	x := []float32{0, 1.5, 0, -0.25, 2, 0, 0.7}
	wantU := make([]float64, k)
	for i := range n {
		for f := range k {
			wantU[f] += float64(x[i]) * float64(lr.W[i*k+f])
		}
	}
	u := []float32{9, 9, 9} // Factors must overwrite, not accumulate
	lr.Factors(x, u)
	for f := range k {
		if math.Abs(float64(u[f])-wantU[f]) > 1e-5 {
			t.Errorf("factors = %v, want %v", u, wantU)
		}
	}
	out := make([]float32, n)
	lr.Score(x, out)
	for j := range n {
		var want float64
		for f := range k {
			want += wantU[f] * float64(lr.Y[j*k+f])
		}
		if math.Abs(float64(out[j])-want) > 1e-5 {
			t.Errorf("score[%d] = %v, want %v", j, out[j], want)
		}
	}
}

// TestFoldInIsRidgeProjection checks W·(YᵀY + λI) = Y, i.e. x·W is the ridge
// projection of x onto the item factors, and that Y is served as fitted.
func TestFoldInIsRidgeProjection(t *testing.T) {
	a := fitALS(t, twoGroups(4), alsParams(), nil)
	for _, fl := range []float64{0.5, 30} {
		a.Params.FoldLambda = fl
		lr, err := a.FoldIn()
		if err != nil {
			t.Fatal(err)
		}
		n, k := a.Items.Dims()
		var g mat.Dense
		g.Mul(a.Items.T(), a.Items)
		for i := range k {
			g.Set(i, i, g.At(i, i)+fl)
		}
		w := mat.NewDense(n, k, nil)
		for i, v := range lr.W {
			w.RawMatrix().Data[i] = float64(v)
		}
		var back mat.Dense
		back.Mul(w, &g)
		if !mat.EqualApprox(&back, a.Items, 1e-4) {
			t.Errorf("FoldLambda %g: W·(YᵀY+λI) ≠ Y", fl)
		}
		for i, v := range a.Items.RawMatrix().Data {
			if lr.Y[i] != float32(v) {
				t.Fatalf("Y[%d] = %v, want %v", i, lr.Y[i], v)
			}
		}
	}
}

func TestFoldInRankDeficient(t *testing.T) {
	zero := mat.NewDense(5, 3, nil)
	dup := mat.NewDense(5, 2, []float64{1, 1, 2, 2, 0.5, 0.5, 3, 3, 1, 1}) // equal columns
	// FoldLambda 0 leaves YᵀY singular: FoldIn must refuse, not serve NaNs.
	for name, items := range map[string]*mat.Dense{"all-zero items": zero, "duplicate factor": dup} {
		a := &cf.ALS{Params: cf.ALSParams{FoldLambda: 0}, Items: items}
		if lr, err := a.FoldIn(); err == nil {
			t.Errorf("%s, FoldLambda 0: no error; W = %v", name, lr.W)
		}
	}
	// The ridge makes the zero matrix invertible: all scores are 0, not NaN.
	a := &cf.ALS{Params: cf.ALSParams{FoldLambda: 1}, Items: zero}
	lr, err := a.FoldIn()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 5)
	lr.Score([]float32{1, 0, 2, 0, 0}, out)
	if !slices.Equal(out, make([]float32, 5)) {
		t.Errorf("scores = %v, want zeros", out)
	}
}

func TestTopK(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		name   string
		scores []float32
		k      int
		skip   func(int) bool
		want   []int
	}{
		{"ties to lower index", []float32{1, 3, 3, 2, 3}, 2, nil, []int{1, 2}},
		{"all tied", []float32{5, 5, 5, 5}, 3, nil, []int{0, 1, 2}},
		{"NaN never returned", []float32{nan, 1, nan, 0.5}, 10, nil, []int{1, 3}},
		{"only NaN", []float32{nan, nan}, 2, nil, []int{}},
		{"skip", []float32{5, 4, 3, 2}, 2, func(j int) bool { return j%2 == 0 }, []int{1, 3}},
		{"k larger than n", []float32{0.1, 0.3, 0.2}, 5, nil, []int{1, 2, 0}},
		{"infinities and negatives", []float32{-inf, -1, inf, 0}, 4, nil, []int{2, 3, 1, 0}},
		{"k zero", []float32{1, 2}, 0, nil, nil},
		{"k negative", []float32{1, 2}, -1, nil, nil},
	} {
		got := cf.TopK(tc.scores, tc.k, tc.skip)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: TopK = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestTopKMatchesSort compares TopK with a full stable sort on many ties,
// infinities and NaNs, for short lists and for vocabulary-sized ones.
func TestTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := range 600 {
		n := 1 + rng.IntN(60)
		if trial%3 == 0 {
			n = 1 + rng.IntN(4000)
		}
		scores := make([]float32, n)
		for j := range scores {
			scores[j] = float32(rng.IntN(6))
			switch rng.IntN(20) {
			case 0, 1:
				scores[j] = float32(math.NaN())
			case 2:
				scores[j] = float32(math.Inf(1 - 2*rng.IntN(2)))
			case 3, 4, 5:
				scores[j] = rng.Float32() * 6
			case 6:
				scores[j] = float32(math.Copysign(0, -1))
			case 7:
				scores[j] = -rng.Float32()
			}
		}
		mod := 2 + rng.IntN(5)
		skip := func(j int) bool { return j%mod == 0 }
		var ref []int
		for j, s := range scores {
			if s == s && !skip(j) {
				ref = append(ref, j)
			}
		}
		slices.SortStableFunc(ref, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
		k := 1 + rng.IntN(n+3)
		want := ref[:min(k, len(ref))]
		if got := cf.TopK(scores, k, skip); !slices.Equal(got, want) {
			t.Fatalf("trial %d: TopK(%v, %d) = %v, want %v", trial, scores, k, got, want)
		}
	}
}
