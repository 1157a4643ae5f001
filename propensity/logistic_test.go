package propensity_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/propensity"
)

// truth is the logistic model the synthetic data is drawn from. The three
// features live on very different scales, so recovering the raw-space weights
// only works if the standardisation is folded back correctly.
var (
	truthW    = []float64{1.5, -0.0008, 80}
	truthBias = 3.7 // σ(3.7 − 0.0008·5000) = σ(−0.3) at the feature means
)

// synth draws n rows: x0 ~ N(0,1), x1 ~ 5000 + 1000·N(0,1), x2 ~ 0.01·N(0,1),
// plus any constant columns, and labels from the true probabilities.
func synth(seed uint64, n int, constants ...float32) (*propensity.Dataset, []float64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	f := 3 + len(constants)
	d := &propensity.Dataset{Names: []string{"x0", "x1000", "x001"}, X: make([]float32, 0, n*f), Labels: make([]float32, n)}
	for i := range constants {
		d.Names = append(d.Names, "const"+string(rune('a'+i)))
	}
	truth := make([]float64, n)
	for r := range n {
		x := []float32{float32(rng.NormFloat64()), float32(5000 + 1000*rng.NormFloat64()), float32(0.01 * rng.NormFloat64())}
		s := truthBias
		for c, v := range x {
			s += truthW[c] * float64(v)
		}
		truth[r] = 1 / (1 + math.Exp(-s))
		if rng.Float64() < truth[r] {
			d.Labels[r] = 1
		}
		d.X = append(append(d.X, x...), constants...)
	}
	return d, truth
}

// auc is the probability that a random positive scores above a random
// negative (ties count half).
func auc(scores []float64, labels []float32) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	var pos, neg, sum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		var p, q float64
		for _, r := range idx[i:j] {
			if labels[r] == 1 {
				p++
			} else {
				q++
			}
		}
		sum += p * (neg + q/2)
		pos, neg = pos+p, neg+q
		i = j
	}
	return sum / (pos * neg)
}

func TestFitRecoversRawWeights(t *testing.T) {
	d, truth := synth(7, 20000)
	p := propensity.DefaultParams()
	p.L2 = 1e-3
	m, iters, err := propensity.Fit(d, p)
	if err != nil {
		t.Fatal(err)
	}
	if iters < 1 || iters > p.Iterations {
		t.Errorf("iterations = %d, want 1..%d", iters, p.Iterations)
	}
	if !slices.Equal(m.Features, d.Names) {
		t.Errorf("Features = %v, want %v", m.Features, d.Names)
	}
	for c, want := range truthW {
		if got := float64(m.Weights[c]); math.Abs(got-want) > 0.1*math.Abs(want) {
			t.Errorf("weight %s = %g, want %g ±10%%", d.Names[c], got, want)
		}
	}
	if math.Abs(float64(m.Bias)-truthBias) > 0.4 {
		t.Errorf("bias = %g, want %g ±0.4", m.Bias, truthBias)
	}
	for c, want := range []float64{0, 5000, 0} {
		if math.Abs(m.Mean[c]-want) > 30*[]float64{0.01, 10, 0.0001}[c] {
			t.Errorf("mean[%d] = %g, want ≈ %g", c, m.Mean[c], want)
		}
	}

	pred := make([]float32, d.Rows())
	m.Predict(d.X, pred)
	var worst, sumErr float64
	predF, truthScores := make([]float64, len(pred)), truth
	for r, pr := range pred {
		e := math.Abs(float64(pr) - truth[r])
		worst, sumErr = math.Max(worst, e), sumErr+e
		predF[r] = float64(pr)
	}
	if mean := sumErr / float64(len(pred)); mean > 0.01 || worst > 0.06 {
		t.Errorf("|Predict − truth|: mean %.4f (want ≤ 0.01), worst %.4f (want ≤ 0.06)", mean, worst)
	}
	got, best := auc(predF, d.Labels), auc(truthScores, d.Labels)
	if best < 0.75 {
		t.Fatalf("synthetic data too noisy: true AUC %.3f", best)
	}
	if got < best-0.005 {
		t.Errorf("AUC of the fitted model %.4f, of the true model %.4f", got, best)
	}
}

// TestFitIsPenalisedOptimum checks the first-order conditions of the ridge
// problem Fit documents, in the standardised space: Σ(p−y)·z + L2·w = 0 for
// every feature and Σ(p−y) = 0 for the unpenalised bias; and that a larger
// penalty shrinks the standardised weights.
func TestFitIsPenalisedOptimum(t *testing.T) {
	d, _ := synth(5, 3000)
	f := len(d.Names)
	prevNorm := math.Inf(1)
	for _, l2 := range []float64{0, 1, 100, 3000} {
		p := propensity.Params{L2: l2, Iterations: 25, Tolerance: 1e-9}
		m, iters, err := propensity.Fit(d, p)
		if err != nil {
			t.Fatalf("L2 %g: %v", l2, err)
		}
		if iters > 10 {
			t.Errorf("L2 %g: %d Newton steps, want ≤ 10 on a well-conditioned problem", l2, iters)
		}
		ws := make([]float64, f) // standardised weights
		var norm float64
		for c := range ws {
			ws[c] = float64(m.Weights[c]) * m.Std[c]
			norm += ws[c] * ws[c]
		}
		grad := make([]float64, f+1)
		out := make([]float32, d.Rows())
		m.Predict(d.X, out)
		for r, pr := range out {
			g := float64(pr) - float64(d.Labels[r])
			for c := range f {
				grad[c] += g * (float64(d.X[r*f+c]) - m.Mean[c]) / m.Std[c]
			}
			grad[f] += g
		}
		for c := range f {
			grad[c] += l2 * ws[c]
		}
		for c, g := range grad {
			// Weights are float32 and Predict runs in float32: allow that rounding.
			if math.Abs(g) > 0.005 {
				t.Errorf("L2 %g: penalised gradient[%d] = %g, want ≈ 0", l2, c, g)
			}
		}
		if norm >= prevNorm {
			t.Errorf("L2 %g: |w_std|² = %g, not below %g of the smaller penalty", l2, norm, prevNorm)
		}
		prevNorm = norm
	}
}

func TestFitErrors(t *testing.T) {
	good, _ := synth(1, 200)
	cases := []struct {
		name string
		d    *propensity.Dataset
		want string
	}{
		{"all ones", &propensity.Dataset{Names: []string{"a"}, X: []float32{1, 2, 3}, Labels: []float32{1, 1, 1}}, "one class"},
		{"all zeros", &propensity.Dataset{Names: []string{"a"}, X: []float32{1, 2, 3}, Labels: []float32{0, 0, 0}}, "one class"},
		{"zero rows", &propensity.Dataset{Names: []string{"a"}}, "0 rows"},
		{"no features", &propensity.Dataset{Labels: []float32{0, 1}}, "0 features"},
		{"X too short", &propensity.Dataset{Names: good.Names, X: good.X[:len(good.X)-1], Labels: good.Labels}, "values"},
		{"X too long", &propensity.Dataset{Names: good.Names, X: append(slices.Clone(good.X), 1), Labels: good.Labels}, "values"},
	}
	for _, tc := range cases {
		m, _, err := propensity.Fit(tc.d, propensity.DefaultParams())
		if err == nil || m != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Fit = %v, %v; want an error containing %q", tc.name, m, err, tc.want)
		}
	}
}

func TestFitRejectsBadParams(t *testing.T) {
	d, _ := synth(1, 200)
	for _, p := range []propensity.Params{{L2: 1, Iterations: 0}, {L2: -1, Iterations: 5}, {L2: math.NaN(), Iterations: 5}} {
		if _, _, err := propensity.Fit(d, p); err == nil || !strings.Contains(err.Error(), "invalid parameters") {
			t.Errorf("Fit with %+v = %v, want an invalid-parameters error", p, err)
		}
	}
}

func TestFitConstantColumn(t *testing.T) {
	for _, l2 := range []float64{0, 1} {
		t.Run(fmt.Sprint("L2=", l2), func(t *testing.T) { testConstantColumn(t, l2) })
	}
}

func testConstantColumn(t *testing.T, l2 float64) {
	d, _ := synth(3, 3000, 7, 0.1)
	ref, _ := synth(3, 3000)
	params := propensity.DefaultParams()
	params.L2 = l2
	m, _, err := propensity.Fit(d, params)
	if err != nil {
		t.Fatal(err)
	}
	mr, _, err := propensity.Fit(ref, params)
	if err != nil {
		t.Fatal(err)
	}
	for c, w := range m.Weights {
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
			t.Fatalf("weight %s = %v", d.Names[c], w)
		}
	}
	for c := 3; c < 5; c++ {
		if math.Abs(float64(m.Weights[c])) > 1e-6 || m.Std[c] != 1 {
			t.Errorf("constant %s: weight %g (want ≈0), std %g (want 1)", d.Names[c], m.Weights[c], m.Std[c])
		}
	}
	// The constant columns change nothing else.
	for c := range 3 {
		if math.Abs(float64(m.Weights[c]-mr.Weights[c])) > 1e-4*math.Abs(float64(mr.Weights[c])) {
			t.Errorf("weight %s = %g with constants, %g without", d.Names[c], m.Weights[c], mr.Weights[c])
		}
	}
	if math.Abs(float64(m.Bias-mr.Bias)) > 1e-4 {
		t.Errorf("bias = %g with constants, %g without", m.Bias, mr.Bias)
	}
}

func TestFitDeterministic(t *testing.T) {
	d, _ := synth(11, 2000)
	a, ia, err := propensity.Fit(d, propensity.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	b, ib, err := propensity.Fit(d, propensity.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if ia != ib || !reflect.DeepEqual(a, b) {
		t.Errorf("two fits differ:\n%+v (%d iterations)\n%+v (%d iterations)", a, ia, b, ib)
	}
}

func TestPredictByHand(t *testing.T) {
	m := &propensity.Model{Weights: []float32{2, -1}, Bias: 0.5}
	x := []float32{0, 0, 1, 0, 0, 3, 10, 10}
	out := make([]float32, 4)
	m.Predict(x, out)
	for r, s := range []float64{0.5, 2.5, -2.5, 10.5} {
		if want := 1 / (1 + math.Exp(-s)); math.Abs(float64(out[r])-want) > 1e-6 {
			t.Errorf("row %d: p = %v, want σ(%g) = %v", r, out[r], s, want)
		}
	}
}
