package recommend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tailorhq/tailor/features"
)

func TestFuse(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2011, 10, d, 0, 0, 0, 0, time.UTC) }
	own := func(invoices, last int) *features.ItemHistory {
		return &features.ItemHistory{Invoices: invoices, Last: day(last)}
	}
	for _, tc := range []struct {
		name   string
		mode   Mode
		weight float64
		probs  []float64
		hist   []*features.ItemHistory // nil: never bought
		want   []int                   // candidates, best first
		scores []float64               // the fused scores by candidate; nil: not checked
		keep   bool                    // the probabilities stand as the scores
	}{
		{
			name:   "an item bought on many invoices rises past items the customer never bought",
			weight: 0.5,
			probs:  []float64{0.9, 0.8, 0.7, 0.6},
			hist:   []*features.ItemHistory{own(1, 30), nil, nil, own(20, 1)},
			want:   []int{0, 3, 1, 2},
			scores: []float64{(1.0/60 + 0.5/61) * 40, 1.0 / 61 * 40, 1.0 / 62 * 40, (1.0/63 + 0.5/60) * 40},
		},
		{
			name:   "first in both orders scores 1; equal invoices keep the model's order, not the latest purchase's",
			weight: 0.5,
			probs:  []float64{0.9, 0.5},
			hist:   []*features.ItemHistory{own(3, 1), own(3, 30)},
			want:   []int{0, 1},
			scores: []float64{1, (1.0/61 + 0.5/61) * 40},
		},
		{
			name:   "a heavier weight lets the counts overturn more of the model's order",
			weight: 2,
			probs:  []float64{0.9, 0.8, 0.7, 0.6},
			hist:   []*features.ItemHistory{own(1, 30), nil, own(2, 30), own(9, 1)},
			want:   []int{3, 0, 2, 1},
		},
		{
			name:   "no own items in auto mode: the model's order, on the blend's scale",
			weight: 0.5,
			probs:  []float64{0.2, 0.9, 0.5},
			hist:   []*features.ItemHistory{nil, nil, nil},
			want:   []int{1, 2, 0},
			scores: []float64{1.0 / 62 * 40, 1.0 / 60 * 40, 1.0 / 61 * 40},
		},
		{
			name:   "discover mode keeps the model's probabilities",
			mode:   ModeDiscover,
			weight: 0.5,
			probs:  []float64{0.2, 0.9, 0.5},
			hist:   []*features.ItemHistory{nil, nil, nil},
			want:   []int{1, 2, 0},
			keep:   true,
		},
		{
			name:   "buy-again mode keeps the model's order",
			mode:   ModeBuyAgain,
			weight: 0.5,
			probs:  []float64{0.9, 0.8, 0.7, 0.6},
			hist:   []*features.ItemHistory{own(1, 30), own(2, 30), own(3, 30), own(20, 1)},
			want:   []int{0, 1, 2, 3},
			keep:   true,
		},
		{
			name:   "a negative weight turns the blend off",
			weight: -1,
			probs:  []float64{0.9, 0.8, 0.7, 0.6},
			hist:   []*features.ItemHistory{own(1, 30), nil, nil, own(20, 1)},
			want:   []int{0, 1, 2, 3},
			keep:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &run{s: &Service{cfg: Config{OwnOrderWeight: tc.weight}}, sc: &scratch{}, req: Request{Mode: tc.mode}}
			cs := make([]cand, len(tc.probs))
			for i, p := range tc.probs {
				cs[i] = cand{j: i, prob: p, hasProb: true, score: p, c: features.Candidate{History: tc.hist[i]}}
			}
			r.fuse(cs)
			for i, c := range cs {
				want := tc.probs[i]
				switch {
				case tc.scores != nil:
					want = tc.scores[i]
				case !tc.keep:
					want = c.score
				}
				if math.Abs(c.score-want) > 1e-12 {
					t.Errorf("candidate %d: score %v, want %v", i, c.score, want)
				}
				if c.prob != tc.probs[i] {
					t.Errorf("candidate %d: probability %v changed to %v", i, tc.probs[i], c.prob)
				}
			}
			slices.SortFunc(cs, func(a, b cand) int { return compareCands(&a, &b) })
			got := make([]int, len(cs))
			for i, c := range cs {
				got[i] = c.j
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
		})
	}
}

// BenchmarkFuse measures the blend alone, for a typical known customer (150
// candidates, 30 of them own items) and for one of the heaviest (1,800, of
// which 1,700 own).
func BenchmarkFuse(b *testing.B) {
	for _, size := range []struct{ n, own int }{{150, 30}, {1800, 1700}} {
		b.Run(fmt.Sprintf("%d/%d", size.n, size.own), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			hist := make([]features.ItemHistory, size.own)
			cs := make([]cand, size.n)
			for i := range cs {
				cs[i] = cand{j: i, prob: rng.Float64()}
				if i < size.own {
					hist[i].Invoices = 1 + rng.IntN(8)
					cs[i].c.History = &hist[i]
				}
			}
			r := &run{s: &Service{cfg: Config{OwnOrderWeight: DefaultOwnOrderWeight}}, sc: &scratch{}}
			b.ReportAllocs()
			for b.Loop() {
				r.fuse(cs)
			}
		})
	}
}
