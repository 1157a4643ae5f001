package evaluate

import (
	"slices"
	"testing"
	"time"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/dataset"
)

func TestTrainMatrixVocabulary(t *testing.T) {
	m := TrainMatrix([]dataset.Purchase{
		buy("A", "22b", "1", cut), buy("B", "10a", "2", cut), buy("A", "22b", "3", cut), buy("C", "15", "4", cut),
	})
	if got := m.Items.IDs(); !slices.Equal(got, []string{"10a", "15", "22b"}) {
		t.Errorf("vocabulary %v", got)
	}
	if !slices.Equal(m.Customers, []string{"A", "B", "C"}) {
		t.Errorf("customers %v", m.Customers)
	}
}

// echo scores each item by its input weight plus a small bias favouring high
// indices, so its ranking shows what vector it was given.
type echo struct{}

func (echo) Score(x, out []float32) {
	for j := range out {
		out[j] = x[j]*100 + float32(j)
	}
}

func TestScorerRecommender(t *testing.T) {
	m := TrainMatrix([]dataset.Purchase{
		buy("A", "a", "1", cut), buy("A", "a", "2", cut), buy("A", "b", "2", cut),
		buy("B", "c", "3", cut), buy("B", "d", "3", cut),
	})
	r := ScorerRecommender(m, echo{})
	// A: a (log1p 2) > b (log1p 1) > d > c.
	if got := r.Recommend("A", 3, nil); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("A: %v", got)
	}
	if got := r.Recommend("A", 10, func(it string) bool { return it == "a" || it == "d" }); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("A with skip: %v", got)
	}
	// Unknown customer: zero vector, so only the bias ranks.
	if got := r.Recommend("Z", 2, nil); !slices.Equal(got, []string{"d", "c"}) {
		t.Errorf("unknown: %v", got)
	}
	if got := r.Recommend("A", 0, nil); len(got) != 0 {
		t.Errorf("k=0: %v", got)
	}
}

func TestTune(t *testing.T) {
	vcut := cut.AddDate(0, -ValidationMonths, 0)
	var ps []dataset.Purchase
	// Everyone buys "old" before the validation cut and "hot" during validation;
	// after the cut they buy "leak", which Tune must never see.
	for _, c := range []string{"A", "B", "C"} {
		ps = append(ps, buy(c, "old", "1"+c, vcut.Add(-time.Hour)), buy(c, "hot", "2"+c, vcut),
			buy("X"+c, "hot", "3"+c, vcut.Add(-time.Hour)), buy(c, "leak", "4"+c, cut))
	}
	best, trials, err := Tune(ps, cut, 10, []string{"nothing", "popular", "leak"},
		func(m *cf.Interactions, p string) (Recommender, error) {
			if _, ok := m.Items.Index("leak"); ok {
				t.Error("validation training data holds post-cut items")
			}
			for _, l := range m.Last {
				if !l.Before(vcut) {
					t.Errorf("validation training data holds a purchase at %v", l)
				}
			}
			switch p {
			case "popular":
				return ScorerRecommender(m, cf.NewPopular(m)), nil
			case "leak":
				return fixed{"leak"}, nil
			}
			return fixed{}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if best != "popular" || len(trials) != 3 {
		t.Fatalf("best %q, %d trials", best, len(trials))
	}
	// Before the validation cut "old" and "hot" both have 3 buyers and 3
	// invoices, so the id breaks the tie: popular lists (hot, old). Truth {hot}
	// on both tasks, so NDCG 1 on both.
	if tr := trials[1]; tr.Result.AllItems.Customers != 3 || tr.Result.NewItems.Customers != 3 || !near(tr.Score, 1) {
		t.Errorf("popular trial %+v", tr)
	}
	if trials[2].Score != 0 {
		t.Errorf("leak trial scored %v", trials[2].Score)
	}
}
