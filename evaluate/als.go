package evaluate

import (
	"fmt"
	"sync"
	"time"

	"github.com/tailorhq/tailor/cf"
)

// ALSGrid is the grid Baselines tunes the implicit ALS baseline on.
func ALSGrid() []cf.ALSParams {
	var g []cf.ALSParams
	for _, f := range []int{64, 128} {
		for _, l := range []float64{1, 5} {
			for _, a := range []float64{1, 2} {
				g = append(g, cf.ALSParams{Factors: f, Lambda: l, Alpha: a, Iterations: 12, CGSteps: 3, Seed: 20111031})
			}
		}
	}
	return g
}

// alsRecommender scores a known customer with the user factors ALS learned
// for them (the classic implicit ALS recommender), and an unknown customer
// with zeros.
type alsRecommender struct {
	m    *cf.Interactions
	u    *cf.ALSUsers
	pool sync.Pool
}

// ALSRecommender adapts a fitted ALS model trained on m.
func ALSRecommender(m *cf.Interactions, a *cf.ALS) Recommender {
	n := m.Items.Len()
	return &alsRecommender{m: m, u: a.UserScorer(), pool: sync.Pool{New: func() any { b := make([]float32, n); return &b }}}
}

func (r *alsRecommender) Recommend(customer string, k int, skip func(item string) bool) []string {
	bp := r.pool.Get().(*[]float32)
	defer r.pool.Put(bp)
	out := *bp
	if u, ok := r.m.CustomerRow(customer); ok {
		r.u.ScoreRow(u, out)
	} else {
		clear(out)
	}
	return topIDs(r.m.Items, out, k, skip)
}

// alsBaseline tunes and evaluates implicit ALS.
func alsBaseline(s *Split, m *cf.Interactions, k int, logf func(string, ...any)) (Result, error) {
	p, trials, err := Tune(s.Train, s.Cut, k, ALSGrid(), func(m *cf.Interactions, p cf.ALSParams) (Recommender, error) {
		a, err := cf.FitALS(m, p, nil)
		if err != nil {
			return nil, err
		}
		return ALSRecommender(m, a), nil
	})
	if err != nil {
		return Result{}, err
	}
	for _, t := range trials {
		logf("validation ALS f=%d λ=%g α=%g: NDCG@%d all %.4f new %.4f mean %.4f (fit %s)",
			t.Param.Factors, t.Param.Lambda, t.Param.Alpha, k, t.Result.AllItems.NDCG, t.Result.NewItems.NDCG, t.Score, round(t.Fit))
	}
	start := time.Now()
	a, err := cf.FitALS(m, p, nil)
	if err != nil {
		return Result{}, err
	}
	fit := time.Since(start)
	r := Evaluate(s, "implicit ALS", ALSRecommender(m, a), k)
	r.Notes = fmt.Sprintf("factors=%d λ=%g α=%g, %d iterations, chosen on validation; fit %s",
		p.Factors, p.Lambda, p.Alpha, p.Iterations, round(fit))
	return r, nil
}
