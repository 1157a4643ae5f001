package evaluate_test

import (
	"os"
	"testing"
	"time"

	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/evaluate"
)

// retailDir finds the bundled data: the repository's copy, else the shared one.
func retailDir(t *testing.T) string {
	for _, d := range []string{"../data/online-retail", "../../shared/data/online-retail", "/work/shared/data/online-retail"} {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	t.Skip("online-retail data not found")
	return ""
}

// TestBaselinesOnlineRetail runs the DESIGN.md protocol on the real data
// (train before 2011-09-01, test to 2011-11-01) and prints the table:
//
//	go test ./evaluate -run OnlineRetail -v
func TestBaselinesOnlineRetail(t *testing.T) {
	if testing.Short() {
		t.Skip("real-data evaluation skipped with -short")
	}
	ps, stats, err := dataset.ReadDir(retailDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d files, %d rows, kept %d", stats.Files, stats.Rows, stats.Kept)
	cut := time.Date(2011, 9, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC)
	s := evaluate.NewSplit(ps, cut, end)
	buyers := make(map[string]bool)
	for _, p := range s.Test {
		buyers[p.Customer] = true
	}
	t.Logf("train %d purchases, test %d purchases by %d customers, of whom %d bought before the cut and are evaluated",
		len(s.Train), len(s.Test), len(buyers), len(s.Customers))
	start := time.Now()
	res, err := evaluate.Baselines(s, 10, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("baselines took %s\n\n%s", time.Since(start).Round(time.Second), evaluate.MarkdownTable(res))
	if len(res) != 5 {
		t.Fatalf("got %d results, want 5", len(res))
	}
	by := map[string]evaluate.Result{}
	for _, r := range res {
		by[r.Name] = r
		if r.AllItems.Customers != len(s.Customers) || r.NewItems.Customers == 0 {
			t.Errorf("%s: customers %d/%d", r.Name, r.AllItems.Customers, r.NewItems.Customers)
		}
	}
	// What DESIGN.md says about this data: re-buying dominates the all-items
	// task, and the similarity models win the new-items task.
	pop, own := by["most popular"], by["own most-bought, then popular"]
	if own.AllItems.NDCG < 2*pop.AllItems.NDCG {
		t.Errorf("all items: own-then-popular NDCG %.4f is not well above popular %.4f", own.AllItems.NDCG, pop.AllItems.NDCG)
	}
	if own.NewItems != pop.NewItems {
		t.Errorf("new items: own-then-popular %+v should equal popular %+v once own items are skipped", own.NewItems, pop.NewItems)
	}
	for _, name := range []string{"item-kNN (cosine)", "EASE", "implicit ALS"} {
		if r := by[name]; r.NewItems.NDCG < 1.5*pop.NewItems.NDCG {
			t.Errorf("new items: %s NDCG %.4f is not well above popular %.4f", name, r.NewItems.NDCG, pop.NewItems.NDCG)
		}
	}
}
