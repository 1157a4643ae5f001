package trainer

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/evaluate"
	"github.com/tailorhq/tailor/model/ortest"
	"github.com/tailorhq/tailor/propensity"
)

var (
	once   sync.Once
	small  *Models
	errFit error
)

// trained fits the pipeline once per test binary on the real data before
// 2011-09-01 with a single grid point, so the tests stay quick.
func trained(t *testing.T) *Models {
	t.Helper()
	once.Do(func() {
		ps, _, err := dataset.ReadDir("../data/online-retail")
		if err != nil {
			errFit = err
			return
		}
		grid := DefaultGrid()[:1]
		grid[0].Factors, grid[0].Iterations = 32, 6
		small, errFit = Train(ps, Config{Cut: time.Date(2011, 9, 1, 0, 0, 0, 0, time.UTC), Grid: grid, Propensity: propensity.DefaultParams(), Trees: DefaultTrees()})
	})
	if errFit != nil {
		t.Fatal(errFit)
	}
	return small
}

// TestONNXScoresWhatGoScores loads both exported models through the real
// ONNX Runtime and compares their outputs with the Go computation on real
// customers; then it perturbs one Go weight and requires the comparison to
// catch it, so the check itself can fail.
func TestONNXScoresWhatGoScores(t *testing.T) {
	ortest.Init(t)
	m := trained(t)
	cfArt, propArt, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	worst, err := m.Verify(cfArt, propArt, 50)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest relative difference ONNX vs Go: %g", worst)

	for _, tc := range []struct {
		name   string
		break_ func() func()
		want   string
	}{
		{"cf weight", func() func() {
			old := m.CF.Y[7]
			m.CF.Y[7] += 0.5
			return func() { m.CF.Y[7] = old }
		}, "verify cf"},
		{"propensity bias", func() func() {
			old := m.Propensity.Bias
			m.Propensity.Bias += 0.5
			return func() { m.Propensity.Bias = old }
		}, "verify propensity"},
		{"propensity tree leaf", func() func() {
			nd := &m.Trees.Trees[3].Nodes[len(m.Trees.Trees[3].Nodes)-1]
			old := nd.Value
			nd.Value += 0.5
			return func() { nd.Value = old }
		}, "verify propensity"},
		{"propensity tree threshold", func() func() {
			nd := &m.Trees.Trees[0].Nodes[0]
			old := nd.Threshold
			nd.Threshold += 0.5
			return func() { nd.Threshold = old }
		}, "verify propensity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := tc.break_()
			defer restore()
			if _, err := m.Verify(cfArt, propArt, 50); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify after changing the Go %s = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}

// TestBuildIsDeterministic encodes the same models twice.
func TestBuildIsDeterministic(t *testing.T) {
	m := trained(t)
	a1, b1, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	a2, b2, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	if string(a1.ONNX) != string(a2.ONNX) || string(b1.ONNX) != string(b2.ONNX) {
		t.Fatal("two encodings of the same models differ")
	}
	f1, err := m.FeatureFiles()
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := m.FeatureFiles()
	for name := range f1 {
		if string(f1[name]) != string(f2[name]) {
			t.Errorf("%s differs between two encodings", name)
		}
	}
	if !strings.HasPrefix(a1.Version, "20110901.") || a1.Card.SHA256 != Digest(a1.ONNX) {
		t.Errorf("cf version %q, card sha %q", a1.Version, a1.Card.SHA256)
	}
}

// TestRankerBehaviour checks what a chatbot would notice: a known customer
// gets ten distinct items, the new-items skip is honoured, and an unknown
// customer still gets an answer.
func TestRankerBehaviour(t *testing.T) {
	m := trained(t)
	r, err := m.Ranker()
	if err != nil {
		t.Fatal(err)
	}
	prof := m.Profiles[0]
	bought := map[string]bool{}
	for _, h := range prof.Items {
		bought[h.Item] = true
	}
	recs := r.Recommend(prof.ID, 10, nil)
	if len(recs) != 10 {
		t.Fatalf("known customer: %d items", len(recs))
	}
	seen := map[string]bool{}
	for _, id := range recs {
		if seen[id] {
			t.Errorf("duplicate %s", id)
		}
		seen[id] = true
	}
	for _, id := range r.Recommend(prof.ID, 10, func(id string) bool { return bought[id] }) {
		if bought[id] {
			t.Errorf("new-items answer repeats a purchase: %s", id)
		}
	}
	if got := r.Recommend("no-such-customer", 5, nil); len(got) != 5 {
		t.Errorf("unknown customer: %d items", len(got))
	}
}

// TestTrainedBeatsPopularity is a floor on quality at the DESIGN.md split:
// the pipeline must beat the most-popular baseline clearly on both tasks.
func TestTrainedBeatsPopularity(t *testing.T) {
	m := trained(t)
	ps, _, err := dataset.ReadDir("../data/online-retail")
	if err != nil {
		t.Fatal(err)
	}
	split := evaluate.NewSplit(ps, m.Cut, time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC))
	r, _ := m.Ranker()
	got := evaluate.Evaluate(split, "tailor", r, 10)
	// Most popular scores NDCG@10 0.106 (all) and 0.043 (new) on this split.
	if got.AllItems.NDCG < 0.30 || got.NewItems.NDCG < 0.08 {
		t.Errorf("NDCG@10 all %.4f new %.4f: below the floor", got.AllItems.NDCG, got.NewItems.NDCG)
	}
}

func TestTrainRejectsEmptyInput(t *testing.T) {
	_, err := Train(nil, Config{Cut: time.Now(), Grid: DefaultGrid()})
	if err == nil {
		t.Fatal("want an error for no purchases")
	}
	ps := []dataset.Purchase{{Invoice: "1", Item: "10000", Quantity: 1, Price: 1, Customer: "1", Time: time.Date(2010, 11, 1, 0, 0, 0, 0, time.UTC)}}
	if _, err := Train(ps, Config{Cut: time.Date(2011, 2, 1, 0, 0, 0, 0, time.UTC)}); err == nil || !strings.Contains(err.Error(), "empty CF grid") {
		t.Fatalf("Train: %v; want an error for an empty grid", err)
	}
}

// TestTrainRefusesACutTooEarlyForTheData: a fit with no purchases before
// its start is a clear error before any work, not an empty fit (ALS used to
// panic on one).
func TestTrainRefusesACutTooEarlyForTheData(t *testing.T) {
	ps, _, err := dataset.ReadDir("../data/online-retail") // from 2010-12-01
	if err != nil {
		t.Fatal(err)
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2011, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name          string
		cut           time.Time
		windows, mons int
		want          string
	}{
		{"validation split before the data", day(1, 15), 1, 1,
			"no purchases before 2010-11-15, where the CF validation split starts (2 months before the cut 2011-01-15); the data start 2010-12-01"},
		{"label window before the data", day(3, 1), 3, 1,
			"the earliest of 3 label windows of 1 month(s) starts 2010-12-01, before which there are no purchases (the data start 2010-12-01)"},
		{"long label windows", day(4, 1), 2, 2,
			"the earliest of 2 label windows of 2 month(s) starts 2010-12-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(ps, Config{Cut: tc.cut, Grid: DefaultGrid()[:1], Propensity: propensity.DefaultParams(), LabelWindows: tc.windows, LabelMonths: tc.mons})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Train: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestLabelMonthsSetsTheWindows trains with two 1-month label windows and
// checks, from the trainer's log, that the propensity examples come from
// August and from July 2011, each with features as of its own start.
func TestLabelMonthsSetsTheWindows(t *testing.T) {
	ps, _, err := dataset.ReadDir("../data/online-retail")
	if err != nil {
		t.Fatal(err)
	}
	grid := DefaultGrid()[:1]
	grid[0].Factors, grid[0].Iterations = 16, 3
	var logs bytes.Buffer
	_, err = Train(ps, Config{Cut: time.Date(2011, 9, 1, 0, 0, 0, 0, time.UTC), Grid: grid, Propensity: propensity.DefaultParams(),
		LabelWindows: 2, LabelMonths: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var windows []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, `msg="propensity window"`) {
			from, _, _ := strings.Cut(line[strings.Index(line, "from=")+len("from="):], " ")
			to, _, _ := strings.Cut(line[strings.Index(line, "to=")+len("to="):], " ")
			windows = append(windows, from+"/"+to)
		}
	}
	if want := []string{"2011-08-01/2011-09-01", "2011-07-01/2011-08-01"}; !slices.Equal(windows, want) {
		t.Fatalf("label windows %v, want %v", windows, want)
	}
}

// TestLabelWindows: the windows end at the cut, latest first, and touch
// each other even when the cut is late in a month.
func TestLabelWindows(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		cut       string
		n, months int
		want      []string // from/to
	}{
		{"2011-11-01", 3, 1, []string{"2011-10-01/2011-11-01", "2011-09-01/2011-10-01", "2011-08-01/2011-09-01"}},
		{"2011-09-01", 1, 2, []string{"2011-07-01/2011-09-01"}},
		{"2011-03-31", 3, 1, []string{"2011-03-03/2011-03-31", "2011-01-31/2011-03-03", "2010-12-31/2011-01-31"}},
	} {
		var got []string
		for _, w := range labelWindows(day(tc.cut), tc.n, tc.months) {
			got = append(got, w.From.Format(time.DateOnly)+"/"+w.To.Format(time.DateOnly))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("cut %s, %d × %d months: %v, want %v", tc.cut, tc.n, tc.months, got, tc.want)
		}
	}
}
