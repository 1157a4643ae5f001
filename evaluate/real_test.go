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
	if len(res) != 4 {
		t.Fatalf("got %d results, want 4", len(res))
	}
	for _, r := range res {
		if r.AllItems.Customers != len(s.Customers) || r.NewItems.Customers == 0 {
			t.Errorf("%s: customers %d/%d", r.Name, r.AllItems.Customers, r.NewItems.Customers)
		}
	}
}
