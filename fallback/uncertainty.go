package fallback

import "math"

// Reasons Uncertainty.Check gives.
const (
	ReasonTooLittleHistory = "too_little_history"
	ReasonFlatScores       = "flat_scores"
)

// Uncertainty is the gate that decides when the model's answer for one
// request is too unsure to show. Such a request is answered by the rule chain
// instead; no breaker is involved, because the model did its job.
//
// A prediction is uncertain when either holds:
//
//   - too_little_history: the customer has fewer than MinHistoryItems
//     distinct items in their history. The collaborative-filtering model folds
//     the customer's items into its answer, and from one or two items it
//     mostly echoes their nearest neighbours.
//   - flat_scores: the scores barely separate the best item from the rest.
//     With s₁ the highest score and m the median of the TopN highest, the
//     relative spread (s₁ − m) / |s₁| is below MinSpread. When s₁ is 0 the
//     scores are flat if m is 0 too (the model has no signal at all).
//
// A zero field means its default; a negative MinHistoryItems or MinSpread
// turns that test off.
type Uncertainty struct {
	MinHistoryItems int     // default 3
	MinSpread       float64 // default 0.05
	TopN            int     // default 10
}

// Check says whether a prediction is uncertain, and why. historyItems is the
// number of distinct items in the customer's history and scores holds one
// score per item, higher meaning better; values that are not finite are
// ignored. With no scores only the history is checked, so a caller can ask
// before it calls the model and again after.
func (u Uncertainty) Check(historyItems int, scores []float32) (reason string, uncertain bool) {
	minHistory := u.MinHistoryItems
	if minHistory == 0 {
		minHistory = 3
	}
	if historyItems < minHistory {
		return ReasonTooLittleHistory, true
	}
	if len(scores) == 0 || u.MinSpread < 0 {
		return "", false
	}
	minSpread := u.MinSpread
	if minSpread == 0 {
		minSpread = 0.05
	}
	n := u.TopN
	if n <= 0 {
		n = 10
	}
	top := topScores(scores, n)
	if len(top) == 0 {
		return ReasonFlatScores, true // nothing finite to rank by
	}
	if spread(top) < minSpread {
		return ReasonFlatScores, true
	}
	return "", false
}

// spread is the relative spread of scores sorted from highest to lowest:
// (s₁ − median) / |s₁|; +Inf when s₁ is 0 and the median is below it, 0 when
// both are 0 or there are no scores.
func spread(top []float64) float64 {
	if len(top) == 0 {
		return 0
	}
	s1 := top[0]
	var m float64
	if h := len(top) / 2; len(top)%2 == 1 {
		m = top[h]
	} else {
		m = (top[h-1] + top[h]) / 2
	}
	if s1 == 0 {
		if m == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return (s1 - m) / math.Abs(s1)
}

// topScores returns the n highest finite scores, highest first. The common
// case, a score below the current n-th, costs one comparison.
func topScores(scores []float32, n int) []float64 {
	top := make([]float32, 0, n)
	low := float32(math.Inf(-1)) // the n-th best so far, once there are n
	for _, s := range scores {
		if !(s > low) || s > math.MaxFloat32 { // NaN, -Inf, +Inf, or not good enough
			continue
		}
		i := len(top)
		for i > 0 && top[i-1] < s {
			i--
		}
		if len(top) < n {
			top = append(top, 0)
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = s
		if len(top) == n {
			low = top[n-1]
		}
	}
	out := make([]float64, len(top))
	for i, s := range top {
		out[i] = float64(s)
	}
	return out
}
