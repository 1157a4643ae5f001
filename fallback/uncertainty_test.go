package fallback

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestUncertaintyCheck(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	peaked := []float32{0.9, 0.5, 0.45, 0.4, 0.35, 0.3, 0.3, 0.2, 0.1, 0.1, 0.05, 0, -0.1}
	cases := []struct {
		name    string
		u       Uncertainty
		history int
		scores  []float32
		want    string // "" when certain
	}{
		{"no history, before the model", Uncertainty{}, 0, nil, ReasonTooLittleHistory},
		{"two items, default minimum 3", Uncertainty{}, 2, peaked, ReasonTooLittleHistory},
		{"three items, before the model", Uncertainty{}, 3, nil, ""},
		{"three items, peaked scores", Uncertainty{}, 3, peaked, ""},
		{"custom minimum", Uncertainty{MinHistoryItems: 10}, 9, peaked, ReasonTooLittleHistory},
		{"history test off", Uncertainty{MinHistoryItems: -1}, 0, peaked, ""},
		{"all equal", Uncertainty{}, 5, []float32{0.4, 0.4, 0.4, 0.4, 0.4, 0.4}, ReasonFlatScores},
		{"all zero", Uncertainty{}, 5, make([]float32, 100), ReasonFlatScores},
		{"best barely ahead: spread 0.03", Uncertainty{}, 5,
			[]float32{1, 0.98, 0.97, 0.97, 0.97, 0.97, 0.97, 0.97, 0.97, 0.97, 0.1}, ReasonFlatScores},
		{"spread 0.03 but threshold 0.01", Uncertainty{MinSpread: 0.01}, 5,
			[]float32{1, 0.98, 0.97, 0.97, 0.97, 0.97, 0.97, 0.97, 0.97, 0.97, 0.1}, ""},
		{"spread test off", Uncertainty{MinSpread: -1}, 5, []float32{1, 1, 1}, ""},
		{"flat in the top 3, not in the top 10", Uncertainty{TopN: 3}, 5,
			[]float32{1, 0.99, 0.98, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, ReasonFlatScores},
		{"same scores, default top 10", Uncertainty{}, 5,
			[]float32{1, 0.99, 0.98, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, ""},
		{"fewer scores than TopN", Uncertainty{}, 5, []float32{0.5, 1}, ""},
		{"NaN and Inf ignored", Uncertainty{}, 5, append([]float32{nan, inf, -inf}, peaked...), ""},
		{"nothing finite", Uncertainty{}, 5, []float32{nan, nan}, ReasonFlatScores},
		{"negative scores, well separated", Uncertainty{}, 5, []float32{-1, -2, -2, -2, -2}, ""},
		{"negative scores, flat", Uncertainty{}, 5, []float32{-10, -10.1, -10.1, -10.2}, ReasonFlatScores},
		{"best is zero, rest below", Uncertainty{}, 5, []float32{0, -1, -1, -1}, ""},
	}
	for _, c := range cases {
		reason, uncertain := c.u.Check(c.history, c.scores)
		if reason != c.want || uncertain != (c.want != "") {
			t.Errorf("%s: got (%q, %v), want %q", c.name, reason, uncertain, c.want)
		}
	}
}

func TestTopScoresMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		xs := make([]float32, rng.IntN(60))
		for i := range xs {
			xs[i] = float32(rng.IntN(20)) / 4 // many ties
		}
		n := 1 + rng.IntN(12)
		want := make([]float64, len(xs))
		for i, x := range xs {
			want[i] = float64(x)
		}
		slices.SortFunc(want, func(a, b float64) int { return -compareFloat(a, b) })
		want = want[:min(n, len(want))]
		if got := topScores(xs, n); !slices.Equal(got, want) {
			t.Fatalf("trial %d, n=%d: got %v, want %v", trial, n, got, want)
		}
	}
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func BenchmarkUncertaintyCheck(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	scores := make([]float32, 3604) // the default CF vocabulary
	for i := range scores {
		scores[i] = rng.Float32()
	}
	var u Uncertainty
	for b.Loop() {
		u.Check(20, scores)
	}
}
