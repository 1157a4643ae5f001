package propensity_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/propensity"
)

// xor draws rows whose label depends on whether x0 and x1 have the same
// sign, which no logistic regression on x0 and x1 can express; x2 is noise.
func xor(seed uint64, n int) *propensity.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := &propensity.Dataset{Names: []string{"x0", "x1", "noise"}, Labels: make([]float32, n)}
	for r := range n {
		x := []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
		p := 0.1
		if (x[0] > 0) == (x[1] > 0) {
			p = 0.9
		}
		if rng.Float64() < p {
			d.Labels[r] = 1
		}
		d.X = append(d.X, x...)
	}
	return d
}

func aucOf(pr propensity.Predictor, d *propensity.Dataset) float64 {
	out := make([]float32, d.Rows())
	pr.Predict(d.X, out)
	s := make([]float64, len(out))
	for i, v := range out {
		s[i] = float64(v)
	}
	return auc(s, d.Labels)
}

func TestFitTreesLearnsAnInteraction(t *testing.T) {
	train, test := xor(1, 5000), xor(2, 5000)
	lin, _, err := propensity.Fit(train, propensity.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	p := propensity.TreeParams{Trees: 20, Depth: 3, LearningRate: 0.3, L2: 1, MinHessian: 5, Bins: 32}
	trees, err := propensity.FitTrees(train, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	boosted, err := propensity.FitTrees(train, p, lin)
	if err != nil {
		t.Fatal(err)
	}
	// The best possible AUC here is 0.9; the logistic model is near 0.5.
	aLin, aTrees, aBoosted := aucOf(lin, test), aucOf(trees, test), aucOf(boosted, test)
	t.Logf("test AUC: logistic %.3f, trees %.3f, trees from the logistic logit %.3f", aLin, aTrees, aBoosted)
	if aLin > 0.6 || aTrees < 0.85 || aBoosted < 0.85 {
		t.Errorf("test AUC logistic %.3f (want ≤ 0.6), trees %.3f and %.3f (want ≥ 0.85)", aLin, aTrees, aBoosted)
	}
	if got := trees.Names(); !reflect.DeepEqual(got, train.Names) {
		t.Errorf("Names() = %v", got)
	}
}

// TestTreesPredictByHand walks a two-tree ensemble on a linear start.
func TestTreesPredictByHand(t *testing.T) {
	e := &propensity.Trees{
		Features: []string{"a", "b"},
		Base:     0.25,
		Trees: []propensity.Tree{
			{Nodes: []propensity.TreeNode{{Feature: 0, Threshold: 1, Left: 1, Right: 2}, {Feature: -1, Value: -1}, {Feature: -1, Value: 2}}},
			{Nodes: []propensity.TreeNode{{Feature: -1, Value: 0.5}}},
		},
		Linear: &propensity.Model{Features: []string{"a", "b"}, Weights: []float32{0, 3}, Bias: -1},
	}
	x := []float32{1, 0, 1.5, 1} // a = 1 goes left (≤ 1); a = 1.5 goes right
	out := make([]float32, 2)
	e.Predict(x, out)
	want := []float64{-1 + 0.5 + 0.25 - 1, 2 + 0.5 + 0.25 + 3 - 1}
	for i, z := range want {
		if p := 1 / (1 + math.Exp(-z)); math.Abs(float64(out[i])-p) > 1e-6 {
			t.Errorf("row %d: %g, want σ(%g) = %g", i, out[i], z, p)
		}
	}
}

func TestFitTreesDeterministic(t *testing.T) {
	d := xor(3, 2000)
	p := propensity.TreeParams{Trees: 5, Depth: 3, LearningRate: 0.2, L2: 1, MinHessian: 5, Bins: 16}
	a, err := propensity.FitTrees(d, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := propensity.FitTrees(d, p, nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two fits on the same data differ")
	}
	for _, tr := range a.Trees {
		for _, nd := range tr.Nodes {
			if nd.Feature >= 0 && (nd.Left <= 0 || nd.Right <= 0 || nd.Left >= len(tr.Nodes) || nd.Right >= len(tr.Nodes)) {
				t.Fatalf("split with children %d and %d in a tree of %d nodes", nd.Left, nd.Right, len(tr.Nodes))
			}
		}
	}
}

func TestFitTreesRejects(t *testing.T) {
	good := propensity.DefaultTreeParams()
	d := xor(4, 100)
	for _, tc := range []struct {
		name string
		d    *propensity.Dataset
		p    func(p *propensity.TreeParams)
		want string
	}{
		{"no trees", d, func(p *propensity.TreeParams) { p.Trees = 0 }, "invalid tree parameters"},
		{"too many bins", d, func(p *propensity.TreeParams) { p.Bins = 300 }, "invalid tree parameters"},
		{"zero learning rate", d, func(p *propensity.TreeParams) { p.LearningRate = 0 }, "invalid tree parameters"},
		{"one class", &propensity.Dataset{Names: []string{"a"}, X: []float32{1, 2}, Labels: []float32{1, 1}}, nil, "one class"},
		{"ragged", &propensity.Dataset{Names: []string{"a", "b"}, X: []float32{1, 2, 3}, Labels: []float32{1, 0}}, nil, "values"},
	} {
		p := good
		if tc.p != nil {
			tc.p(&p)
		}
		if _, err := propensity.FitTrees(tc.d, p, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
