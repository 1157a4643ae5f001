// Package evaluate implements the offline quality protocol of DESIGN.md ("How
// quality is measured"): a temporal split, two ranking tasks and three
// top-k metrics, computed the same way for every recommender.
//
// # Split
//
// Purchases strictly before Cut train the models; purchases in [Cut, End) are
// the test period. A customer is evaluated when they have at least one
// purchase before Cut and at least one in [Cut, End).
//
// # Tasks
//
//   - all items: the truth T is the set of distinct items the customer bought
//     in the test period; nothing is skipped when recommending.
//   - new items: items the customer bought before Cut are skipped when
//     recommending (skip returns true for them) and removed from T; customers
//     whose T becomes empty are not evaluated on this task.
//
// Items in T that no model knows (first sold in the test period) stay in T.
//
// # Metrics
//
// For one customer, with R = (r_1, ..., r_n) the recommended list truncated
// to its first k entries (n ≤ k), and hit(i) = 1 when r_i ∈ T and r_i does not
// appear earlier in R (a repeated item never counts twice), else 0:
//
//	Recall@k  = Σ_i hit(i) / |T|
//	DCG@k     = Σ_i hit(i) / log2(i + 1)
//	IDCG@k    = Σ_{i=1..min(|T|, k)} 1 / log2(i + 1)
//	NDCG@k    = DCG@k / IDCG@k
//	HitRate@k = 1 if Σ_i hit(i) > 0, else 0
//
// Reported figures are the arithmetic means over the customers evaluated on
// the task. Customers are processed in parallel, but each customer's figures
// are stored in its own slot and summed in ascending customer order, so the
// result does not depend on scheduling.
package evaluate

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tailorhq/tailor/dataset"
)

// Recommender returns up to k item ids for a customer, best first, never an
// item for which skip(item) is true. skip may be nil, meaning nothing is
// skipped. Implementations must be safe for concurrent use and deterministic.
type Recommender interface {
	Recommend(customer string, k int, skip func(item string) bool) []string
}

// Split is a temporal train/test split of purchases.
type Split struct {
	Cut, End  time.Time
	Train     []dataset.Purchase // purchases before Cut
	Test      []dataset.Purchase // purchases in [Cut, End)
	Customers []string           // evaluated customers, ascending

	truth  map[string][]string            // distinct test items, ascending
	bought map[string]map[string]struct{} // items bought before Cut
}

// NewSplit splits ps at cut; purchases at or after end are ignored.
func NewSplit(ps []dataset.Purchase, cut, end time.Time) *Split {
	s := &Split{
		Cut:    cut,
		End:    end,
		Train:  dataset.Before(ps, cut),
		Test:   dataset.Between(ps, cut, end),
		truth:  make(map[string][]string),
		bought: make(map[string]map[string]struct{}),
	}
	for _, p := range s.Train {
		b := s.bought[p.Customer]
		if b == nil {
			b = make(map[string]struct{})
			s.bought[p.Customer] = b
		}
		b[p.Item] = struct{}{}
	}
	for _, p := range s.Test {
		if _, ok := s.bought[p.Customer]; !ok {
			continue
		}
		s.truth[p.Customer] = append(s.truth[p.Customer], p.Item)
	}
	for c, items := range s.truth {
		slices.Sort(items)
		s.truth[c] = slices.Compact(items)
		s.Customers = append(s.Customers, c)
	}
	slices.Sort(s.Customers)
	return s
}

// Truth returns the distinct items customer bought in the test period, in
// ascending order (the all-items truth). It is nil for customers not
// evaluated. The caller must not modify it.
func (s *Split) Truth(customer string) []string { return s.truth[customer] }

// NewTruth returns the new-items truth: Truth minus the items bought before
// the cut.
func (s *Split) NewTruth(customer string) []string {
	var out []string
	for _, it := range s.truth[customer] {
		if !s.BoughtBefore(customer, it) {
			out = append(out, it)
		}
	}
	return out
}

// BoughtBefore reports whether customer bought item before the cut.
func (s *Split) BoughtBefore(customer, item string) bool {
	_, ok := s.bought[customer][item]
	return ok
}

// Metrics are means over the customers evaluated on one task.
type Metrics struct {
	Recall, NDCG, HitRate float64
	Customers             int
}

// Result is one recommender's figures on both tasks.
type Result struct {
	Name               string
	K                  int
	AllItems, NewItems Metrics
	Notes              string // e.g. chosen parameters and fit time
}

// Score computes Recall@k, NDCG@k and HitRate@k of one recommended list
// against a non-empty truth set, as defined in the package documentation.
func Score(recs []string, truth []string, k int) (recall, ndcg, hit float64) {
	if len(truth) == 0 || k <= 0 {
		return 0, 0, 0
	}
	if len(recs) > k {
		recs = recs[:k]
	}
	want := make(map[string]bool, len(truth))
	for _, t := range truth {
		want[t] = true
	}
	hits, dcg := 0, 0.0
	for i, r := range recs {
		if want[r] {
			want[r] = false
			hits++
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	idcg := 0.0
	for i := range min(len(want), k) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	if hits > 0 {
		hit = 1
	}
	return float64(hits) / float64(len(want)), dcg / idcg, hit
}

// Evaluate runs r on both tasks of s with lists of k items.
func Evaluate(s *Split, name string, r Recommender, k int) Result {
	type row struct {
		all, new [3]float64
		evalNew  bool
	}
	rows := make([]row, len(s.Customers))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(s.Customers) {
					return
				}
				c := s.Customers[i]
				rw := &rows[i]
				recs := r.Recommend(c, k, nil)
				rw.all[0], rw.all[1], rw.all[2] = Score(recs, s.truth[c], k)
				truth := s.NewTruth(c)
				if len(truth) == 0 {
					continue
				}
				bought := s.bought[c]
				skip := func(item string) bool { _, ok := bought[item]; return ok }
				recs = r.Recommend(c, k, skip)
				rw.evalNew = true
				rw.new[0], rw.new[1], rw.new[2] = Score(recs, truth, k)
			}
		}()
	}
	wg.Wait()
	res := Result{Name: name, K: k}
	var all, nw [3]float64
	for _, rw := range rows {
		for m := range 3 {
			all[m] += rw.all[m]
		}
		if rw.evalNew {
			res.NewItems.Customers++
			for m := range 3 {
				nw[m] += rw.new[m]
			}
		}
	}
	res.AllItems = mean(all, len(rows))
	res.NewItems = mean(nw, res.NewItems.Customers)
	return res
}

func mean(sum [3]float64, n int) Metrics {
	if n == 0 {
		return Metrics{}
	}
	f := float64(n)
	return Metrics{Recall: sum[0] / f, NDCG: sum[1] / f, HitRate: sum[2] / f, Customers: n}
}

// MarkdownTable renders results as a Markdown table, one row per result, with
// the customer counts and each result's notes listed below it.
func MarkdownTable(results []Result) string {
	if len(results) == 0 {
		return ""
	}
	k := results[0].K
	var b strings.Builder
	fmt.Fprintf(&b, "| model | all: Recall@%[1]d | all: NDCG@%[1]d | all: HitRate@%[1]d | new: Recall@%[1]d | new: NDCG@%[1]d | new: HitRate@%[1]d |\n", k)
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", r.Name,
			r.AllItems.Recall, r.AllItems.NDCG, r.AllItems.HitRate,
			r.NewItems.Recall, r.NewItems.NDCG, r.NewItems.HitRate)
	}
	r0 := results[0]
	fmt.Fprintf(&b, "\nCustomers evaluated: %d (all items), %d (new items).\n",
		r0.AllItems.Customers, r0.NewItems.Customers)
	for _, r := range results {
		if r.K != k {
			fmt.Fprintf(&b, "- %s: k=%d (differs from the header)\n", r.Name, r.K)
		}
		if r.Notes != "" {
			fmt.Fprintf(&b, "- %s: %s\n", r.Name, r.Notes)
		}
	}
	return b.String()
}
