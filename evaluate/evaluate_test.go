package evaluate

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailorhq/tailor/dataset"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestScore(t *testing.T) {
	l2 := func(i int) float64 { return 1 / math.Log2(float64(i+1)) } // discount of rank i (1-based)
	cases := []struct {
		name              string
		recs, truth       []string
		k                 int
		recall, ndcg, hit float64
	}{
		{"hit at rank 2", []string{"a", "b", "c"}, []string{"b", "d"}, 3,
			0.5, l2(2) / (l2(1) + l2(2)), 1},
		{"perfect", []string{"b", "d", "x"}, []string{"d", "b"}, 3, 1, 1, 1},
		{"no hit", []string{"a", "c"}, []string{"b"}, 10, 0, 0, 0},
		// |T| = 5 > k = 2: recall divides by |T|, IDCG by min(|T|, k) = 2 positions.
		{"truth larger than k", []string{"x", "t1", "t2"}, []string{"t1", "t2", "t3", "t4", "t5"}, 2,
			0.2, l2(2) / (l2(1) + l2(2)), 1},
		{"repeated item counts once", []string{"t1", "t1", "t2"}, []string{"t1", "t2", "t3"}, 3,
			2.0 / 3, (l2(1) + l2(3)) / (l2(1) + l2(2) + l2(3)), 1},
		{"list longer than k is cut", []string{"a", "b", "t"}, []string{"t"}, 2, 0, 0, 0},
		{"hits at 1 and 3 of 10", []string{"t1", "a", "t2", "b"}, []string{"t1", "t2", "t3", "t4"}, 10,
			0.5, (1 + 0.5) / (l2(1) + l2(2) + l2(3) + l2(4)), 1},
	}
	for _, c := range cases {
		r, n, h := Score(c.recs, c.truth, c.k)
		if !near(r, c.recall) || !near(n, c.ndcg) || h != c.hit {
			t.Errorf("%s: got recall %v ndcg %v hit %v, want %v %v %v", c.name, r, n, h, c.recall, c.ndcg, c.hit)
		}
	}
	// A hand-computed value, independent of the helper above: 1/log2(3) / (1 + 1/log2(3)).
	if _, n, _ := Score([]string{"a", "b"}, []string{"b", "c"}, 10); math.Abs(n-0.386852807) > 1e-9 {
		t.Errorf("ndcg = %v, want 0.386852807", n)
	}
}

var (
	cut = time.Date(2011, 9, 1, 0, 0, 0, 0, time.UTC)
	end = time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC)
)

func buy(cust, item, inv string, at time.Time) dataset.Purchase {
	return dataset.Purchase{Customer: cust, Item: item, Invoice: inv, Time: at, Quantity: 1, Price: 1}
}

// testPurchases: A is evaluated on both tasks, E only on all items; B (no test
// purchase), C (no history) and D (test purchase after end) are not evaluated.
func testPurchases() []dataset.Purchase {
	before, during, after := cut.Add(-time.Hour), cut, end
	return []dataset.Purchase{
		buy("A", "x", "1", before), buy("A", "x", "9", during), buy("A", "y", "9", during), buy("A", "y", "10", during),
		buy("B", "x", "2", before),
		buy("C", "y", "3", during),
		buy("D", "x", "4", before), buy("D", "y", "5", after),
		buy("E", "z", "6", before), buy("E", "z", "7", end.Add(-time.Second)),
	}
}

func TestNewSplit(t *testing.T) {
	s := NewSplit(testPurchases(), cut, end)
	if want := []string{"A", "E"}; !slices.Equal(s.Customers, want) {
		t.Fatalf("customers %v, want %v", s.Customers, want)
	}
	if len(s.Train) != 4 || len(s.Test) != 5 {
		t.Errorf("train %d test %d, want 4 and 5", len(s.Train), len(s.Test))
	}
	if got := s.Truth("A"); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("truth A %v", got)
	}
	if got := s.NewTruth("A"); !slices.Equal(got, []string{"y"}) {
		t.Errorf("new truth A %v", got)
	}
	if got := s.NewTruth("E"); len(got) != 0 {
		t.Errorf("new truth E %v", got)
	}
	if s.Truth("C") != nil || s.Truth("D") != nil {
		t.Error("C or D has a truth")
	}
	if !s.BoughtBefore("A", "x") || s.BoughtBefore("A", "y") {
		t.Error("BoughtBefore")
	}
}

// fixed recommends the same list to everyone, honouring skip.
type fixed []string

func (f fixed) Recommend(_ string, k int, skip func(string) bool) []string {
	var out []string
	for _, it := range f {
		if len(out) < k && (skip == nil || !skip(it)) {
			out = append(out, it)
		}
	}
	return out
}

func TestEvaluate(t *testing.T) {
	s := NewSplit(testPurchases(), cut, end)
	// All items: A truth {x,y}, list (x,y,z) -> 1,1,1; E truth {z} -> hit at 3:
	// recall 1, ndcg 1/log2(4) = 0.5. New items: only A, truth {y}, list (y,z) -> 1,1,1.
	var first Result
	for _, procs := range []int{1, 2, 4} {
		old := runtime.GOMAXPROCS(procs)
		r := Evaluate(s, "fixed", fixed{"x", "y", "z"}, 10)
		runtime.GOMAXPROCS(old)
		want := Result{Name: "fixed", K: 10,
			AllItems: Metrics{Recall: 1, NDCG: 0.75, HitRate: 1, Customers: 2},
			NewItems: Metrics{Recall: 1, NDCG: 1, HitRate: 1, Customers: 1}}
		if r != want {
			t.Fatalf("GOMAXPROCS %d: got %+v, want %+v", procs, r, want)
		}
		if procs == 1 {
			first = r
		} else if r != first {
			t.Fatal("result depends on parallelism")
		}
	}
	// k = 1: A gets x (all: recall 1/2, ndcg 1, hit 1), E gets x (0); new: A gets y (1).
	r := Evaluate(s, "k1", fixed{"x", "y", "z"}, 1)
	if !near(r.AllItems.Recall, 0.25) || !near(r.AllItems.NDCG, 0.5) || !near(r.AllItems.HitRate, 0.5) ||
		!near(r.NewItems.NDCG, 1) {
		t.Errorf("k=1: %+v", r)
	}
}

func TestMarkdownTable(t *testing.T) {
	out := MarkdownTable([]Result{{Name: "m", K: 10, AllItems: Metrics{Recall: 0.5, Customers: 3}, Notes: "λ=1"}})
	for _, want := range []string{"| m | 0.5000 |", "all: NDCG@10", "Customers evaluated: 3", "- m: λ=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
