package trainer

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/features"
)

// TestNeighboursSumWhatEASEScores holds the copurchase feature to EASE's
// own scoring: with every item kept (fewer items than
// CoPurchaseNeighbours), a customer who bought item j gives each other item
// i what EASE.Score gives i for a customer with j alone, wherever that is
// positive, and nothing elsewhere. A neighbour list read in the wrong
// direction (row for column) fails it, as the EASE weights here are not
// symmetric.
func TestNeighboursSumWhatEASEScores(t *testing.T) {
	ids := []string{"A", "B", "C", "D", "E", "F"}
	baskets := [][]string{{"A", "B"}, {"A", "B", "C"}, {"A", "C"}, {"B", "D"}, {"D", "E"}, {"A", "E", "F"}, {"C", "F"}, {"A", "B", "D", "F"}}
	var ps []dataset.Purchase
	day := time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)
	for c, b := range baskets {
		for _, id := range b {
			ps = append(ps, dataset.Purchase{Invoice: fmt.Sprint(c), Item: id, Quantity: 1, Price: 1, Customer: fmt.Sprint(c), Time: day})
		}
	}
	m := cf.BuildInteractions(ps, cf.NewVocabulary(ids))
	items := make([]features.ItemStats, len(ids))
	for j := range items {
		items[j].Item = ids[j]
	}
	if err := withNeighbours(items, m); err != nil {
		t.Fatal(err)
	}
	e, err := cf.NewEASE(m, CoPurchaseLambda)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ids)
	asymmetric := false
	for j := range n {
		x, want := make([]float32, n), make([]float32, n)
		x[j] = 1
		e.Score(x, want)
		got := make([]float32, n)
		features.AddCoBought(&items[j], got)
		for i := range n {
			w := want[i]
			if i == j || w <= 0 {
				w = 0
			}
			if math.Abs(float64(got[i]-w)) > 1e-7 {
				t.Fatalf("bought %s: copurchase of %s is %v, EASE scores %v", ids[j], ids[i], got[i], want[i])
			}
			y := make([]float32, n)
			x2 := make([]float32, n)
			x2[i] = 1
			e.Score(x2, y)
			if i != j && math.Abs(float64(y[j]-want[i])) > 1e-6 {
				asymmetric = true
			}
		}
	}
	if !asymmetric {
		t.Fatal("the EASE weights of this example are symmetric: the test cannot tell a row from a column")
	}
}
