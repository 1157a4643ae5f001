package evaluate

import (
	"fmt"
	"time"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/dataset"
)

// ValidationMonths is the length of the validation period carved from the end
// of the training data when tuning.
const ValidationMonths = 2

// Trial is one candidate parameter's figures on the validation split.
type Trial[P any] struct {
	Param  P
	Result Result
	Score  float64 // (AllItems.NDCG + NewItems.NDCG) / 2
	Fit    time.Duration
}

// Tune chooses from grid the parameter with the best mean NDCG@k over the two
// tasks on a validation split carved from the pre-cut data only: fit(m, p) is
// trained on the purchases before cut − ValidationMonths and evaluated on
// [cut − ValidationMonths, cut). Purchases at or after cut in pre are ignored,
// so the test period is never seen. Ties go to the earlier grid entry. The
// caller refits the chosen parameter on everything before cut.
func Tune[P any](pre []dataset.Purchase, cut time.Time, k int, grid []P,
	fit func(m *cf.Interactions, p P) (Recommender, error)) (best P, trials []Trial[P], err error) {
	if len(grid) == 0 {
		return best, nil, fmt.Errorf("tune: empty grid")
	}
	val := NewSplit(pre, cut.AddDate(0, -ValidationMonths, 0), cut)
	m := TrainMatrix(val.Train)
	bestScore := -1.0
	for _, p := range grid {
		start := time.Now()
		r, err := fit(m, p)
		if err != nil {
			return best, trials, fmt.Errorf("tune %v: %w", p, err)
		}
		t := Trial[P]{Param: p, Fit: time.Since(start)}
		t.Result = Evaluate(val, fmt.Sprint(p), r, k)
		t.Score = (t.Result.AllItems.NDCG + t.Result.NewItems.NDCG) / 2
		trials = append(trials, t)
		if t.Score > bestScore {
			best, bestScore = p, t.Score
		}
	}
	return best, trials, nil
}
