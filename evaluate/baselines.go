package evaluate

import (
	"fmt"
	"time"

	"github.com/tailorhq/tailor/cf"
)

// EASELambdas is the grid Baselines tunes EASE's λ on.
var EASELambdas = []float64{50, 100, 200, 500, 1000}

// ItemKNNGrid is the grid Baselines tunes item-kNN on: binarised or weighted
// similarities, each with 50, 100 or all neighbours. On the shipped data
// (validation: train before 2011-07-01, validate on July-August 2011)
// binarised cells with all neighbours won, by a mean NDCG@10 of 0.195 against
// 0.191 for log1p-weighted cells; pruning to 50 or 100 neighbours lost on
// both.
var ItemKNNGrid = []cf.ItemKNNConfig{
	{Weighted: false, Neighbours: 50}, {Weighted: false, Neighbours: 100}, {Weighted: false, Neighbours: 0},
	{Weighted: true, Neighbours: 50}, {Weighted: true, Neighbours: 100}, {Weighted: true, Neighbours: 0},
}

// Baselines fits the DESIGN.md baselines on s.Train and evaluates them on s:
// most popular, own most-bought then popular, item-kNN (cosine), EASE and
// implicit ALS. The last three are tuned with Tune on the pre-cut data; the chosen
// parameters and the final fit time are in each Result's Notes. logf (may be
// nil) receives one line per validation trial.
func Baselines(s *Split, k int, logf func(format string, args ...any)) ([]Result, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	m := TrainMatrix(s.Train)
	var out []Result

	start := time.Now()
	pop := cf.NewPopular(m)
	r := Evaluate(s, "most popular", ScorerRecommender(m, pop), k)
	r.Notes = fmt.Sprintf("fit %s", round(time.Since(start)))
	out = append(out, r)

	start = time.Now()
	own := cf.NewOwnThenPopular(m)
	r = Evaluate(s, "own most-bought, then popular", own, k)
	r.Notes = fmt.Sprintf("fit %s", round(time.Since(start)))
	out = append(out, r)

	cfg, knnTrials, err := Tune(s.Train, s.Cut, k, ItemKNNGrid,
		func(m *cf.Interactions, c cf.ItemKNNConfig) (Recommender, error) {
			return ScorerRecommender(m, cf.NewItemKNN(m, c)), nil
		})
	if err != nil {
		return out, err
	}
	for _, t := range knnTrials {
		logf("validation item-kNN %s: NDCG@%d all %.4f new %.4f mean %.4f (fit %s)",
			knnName(t.Param), k, t.Result.AllItems.NDCG, t.Result.NewItems.NDCG, t.Score, round(t.Fit))
	}
	start = time.Now()
	knn := cf.NewItemKNN(m, cfg)
	fit := time.Since(start)
	r = Evaluate(s, "item-kNN (cosine)", ScorerRecommender(m, knn), k)
	r.Notes = fmt.Sprintf("%s, chosen on validation; fit %s", knnName(cfg), round(fit))
	out = append(out, r)

	lambda, easeTrials, err := Tune(s.Train, s.Cut, k, EASELambdas,
		func(m *cf.Interactions, l float64) (Recommender, error) {
			e, err := cf.NewEASE(m, l)
			if err != nil {
				return nil, err
			}
			return ScorerRecommender(m, e), nil
		})
	if err != nil {
		return out, err
	}
	for _, t := range easeTrials {
		logf("validation EASE λ=%g: NDCG@%d all %.4f new %.4f mean %.4f (fit %s)",
			t.Param, k, t.Result.AllItems.NDCG, t.Result.NewItems.NDCG, t.Score, round(t.Fit))
	}
	start = time.Now()
	ease, err := cf.NewEASE(m, lambda)
	if err != nil {
		return out, err
	}
	fit = time.Since(start)
	r = Evaluate(s, "EASE", ScorerRecommender(m, ease), k)
	r.Notes = fmt.Sprintf("λ=%g from %v, chosen on validation; %d items; fit %s",
		lambda, EASELambdas, m.Items.Len(), round(fit))
	out = append(out, r)

	r, err = alsBaseline(s, m, k, logf)
	if err != nil {
		return out, err
	}
	return append(out, r), nil
}

func knnName(c cf.ItemKNNConfig) string {
	cells := "binarised"
	if c.Weighted {
		cells = "log1p-weighted"
	}
	nb := "all neighbours"
	if c.Neighbours > 0 {
		nb = fmt.Sprintf("top %d neighbours", c.Neighbours)
	}
	return cells + ", " + nb
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
