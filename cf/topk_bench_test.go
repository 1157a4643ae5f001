package cf_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tailorhq/tailor/cf"
)

// BenchmarkTopK takes the flow's candidate counts (100 in auto, 300 in
// discover) from a vocabulary's worth of skewed scores, skipping 3%.
func BenchmarkTopK(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	scores := make([]float32, 3604)
	mask := make([]bool, len(scores))
	for j := range scores {
		scores[j] = float32(math.Exp(rng.NormFloat64()))
		mask[j] = rng.IntN(100) < 3
	}
	skip := func(j int) bool { return mask[j] }
	for _, k := range []int{100, 300} {
		b.Run(map[int]string{100: "k=100", 300: "k=300"}[k], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cf.TopK(scores, k, skip)
			}
		})
	}
}
