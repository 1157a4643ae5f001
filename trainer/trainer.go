// Package trainer turns purchases into Tailor's models: it tunes and fits the
// collaborative-filtering model, builds the offline features, and trains the
// purchase-propensity model on what customers bought in the period after its
// features were taken. cmd/train and the quality benchmark both call it, so
// the models measured are the models shipped.
package trainer

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/evaluate"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/propensity"
)

// Config says what to train.
type Config struct {
	// Cut: the models see only purchases strictly before Cut, and recency is
	// measured at Cut.
	Cut time.Time
	// Grid is the CF parameter grid tuned on the validation split carved from
	// the last evaluate.ValidationMonths before Cut.
	Grid       []cf.ALSParams
	Propensity propensity.Params
	// Trees, when set, makes the served propensity model gradient-boosted
	// trees with these parameters, boosted from the logistic regression's
	// logit (see DefaultTrees); nil serves the logistic regression alone.
	Trees *propensity.TreeParams
	// LabelWindows is how many consecutive LabelMonths-long windows
	// ending at Cut give the propensity model's examples (zero means 1;
	// cmd/train uses DefaultLabelWindows).
	LabelWindows int
	// LabelMonths is the length of each label window (zero means
	// evaluate.ValidationMonths; cmd/train uses DefaultLabelMonths).
	LabelMonths int
	// Discover also trains a propensity sub-model on the discover-mode
	// candidates alone.
	Discover bool
	Logger   *slog.Logger
}

// DefaultGrid is the CF grid cmd/train tunes: 2 ALS fits, each read with 3
// fold-in ridges (FoldLambda only changes the fold-in, so those are free).
// λ=1 lost to λ=5 at every setting on both validation splits we ran (Jul–Aug
// and Sep–Oct 2011). 128 factors scored about 0.01 NDCG@10 more than 64 on
// validation, but the served flow's NDCG@10 moved by under 1% (0.3723 →
// 0.3702 all items, 0.1104 → 0.1101 new items, benchmarks/RESULTS.md) while
// batch-1 inference fell from about 140 µs to about 30 µs, because 64 factors
// keep the weights (1.8 MB) in a core's L2 cache. So the grid serves 64.
func DefaultGrid() []cf.ALSParams {
	var g []cf.ALSParams
	for _, f := range []int{64} {
		for _, a := range []float64{1, 2} {
			for _, fl := range []float64{10, 30, 100} {
				g = append(g, cf.ALSParams{Factors: f, Lambda: 5, Alpha: a, Iterations: 12, CGSteps: 3, FoldLambda: fl, Seed: 20111031})
			}
		}
	}
	return g
}

// DefaultTrees are the trees cmd/train and the quality benchmark add to the
// logistic regression: 15 trees of depth 3, chosen on the two validation
// windows of benchmarks/RESULTS.md, where they raised new-items NDCG@10 by
// 2–4% and left all-items NDCG@10 level or slightly up. Deeper or more trees
// did no better on both windows and cost more: ONNX Runtime's tree ensemble
// takes about 18 µs for 150 rows at this size, against about 6 µs for the
// logistic graph alone.
func DefaultTrees() *propensity.TreeParams {
	p := propensity.DefaultTreeParams()
	return &p
}

// DefaultDiscover says whether cmd/train and the quality benchmark give the
// propensity model its discover-mode sub-model.
const DefaultDiscover = true

// DefaultLabelWindows and DefaultLabelMonths are the propensity model's
// label windows in cmd/train and the quality benchmark: three consecutive
// 1-month windows ending at the cut. On the validation windows of
// benchmarks/RESULTS.md (fifth pass) they beat one 2-month window on the
// mean of five windows and on four of them, in all-items NDCG@10, and
// held or raised Recall@10 and HitRate@10 on every one.
const (
	DefaultLabelWindows = 3
	DefaultLabelMonths  = 1
)

// Models is everything one training run produces.
type Models struct {
	Cut        time.Time
	First      time.Time // first purchase seen
	Last       time.Time // last purchase seen
	Catalog    *catalog.Catalog
	Vocab      *cf.Vocabulary
	ALS        *cf.ALS
	CF         *cf.LowRank
	Propensity *propensity.Model
	Trees      *propensity.Trees // nil: the logistic model is served
	// DiscoverPropensity and DiscoverTrees: the sub-model trained only on
	// the discover-mode candidates (nil when not trained).
	DiscoverPropensity *propensity.Model
	DiscoverTrees      *propensity.Trees
	Profiles           []features.CustomerProfile
	Items              []features.ItemStats // vocabulary order
	Purchases          int                  // purchases trained on
	Report             Report
}

// Report records how the models were chosen and trained, for the model cards.
type Report struct {
	CFTrials          []CFTrial `json:"cf_trials"`
	PropensityRows    int       `json:"propensity_rows"`
	PropensityPos     int       `json:"propensity_positives"`
	PropensityIters   int       `json:"propensity_iterations"`
	PropensityAUC     float64   `json:"propensity_training_auc"`
	PropensityLogLoss float64   `json:"propensity_training_log_loss"`
	FeatureCut        time.Time `json:"feature_cut"`
	ValidationFrom    time.Time `json:"validation_from"`
	// LabelWindows are the propensity model's label windows, latest first:
	// features as of From, labels from what was bought in [From, To), each
	// LabelMonths long.
	LabelWindows []LabelWindow `json:"label_windows"`
	LabelMonths  int           `json:"label_months"`
}

// CustomerWindows is the number of (customer, label window) pairs that
// gave examples: each window's customers, summed.
func (r *Report) CustomerWindows() int {
	n := 0
	for _, w := range r.LabelWindows {
		n += w.Customers
	}
	return n
}

// labelWindows returns n windows of months months each, latest first, the
// first ending at cut. Every boundary is counted back from cut, so the
// windows are contiguous even from a cut late in a month (Go's AddDate
// normalises 31 February to 3 March, and chaining it would leave gaps).
func labelWindows(cut time.Time, n, months int) []LabelWindow {
	out := make([]LabelWindow, n)
	for w := range out {
		out[w] = LabelWindow{From: cut.AddDate(0, -(w+1)*months, 0), To: cut.AddDate(0, -w*months, 0)}
	}
	return out
}

// LabelWindow is one window of propensity examples.
type LabelWindow struct {
	From, To  time.Time
	Customers int
}

// CFTrial is one CF grid point on the validation split.
type CFTrial struct {
	Params   cf.ALSParams     `json:"params"`
	AllItems evaluate.Metrics `json:"all_items"`
	NewItems evaluate.Metrics `json:"new_items"`
	Score    float64          `json:"score"`
}

// Train runs the whole pipeline on the purchases before cfg.Cut.
func Train(ps []dataset.Purchase, cfg Config) (*Models, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	train := dataset.Before(ps, cfg.Cut)
	if len(train) == 0 {
		return nil, fmt.Errorf("train: no purchases before %s", cfg.Cut.Format(time.DateOnly))
	}
	featureCut := cfg.Cut.AddDate(0, -evaluate.ValidationMonths, 0)
	windows := max(cfg.LabelWindows, 1)
	months := cfg.LabelMonths
	if months <= 0 {
		months = evaluate.ValidationMonths
	}
	// Every fit needs purchases before its own start: the CF grid's before
	// the validation split, each label window's before the window. Checked
	// here, before any work, so that a cut too early for the data (or too
	// many label windows) is a clear error rather than an empty fit.
	first, last := train[0].Time, train[0].Time
	for _, p := range train {
		if p.Time.Before(first) {
			first = p.Time
		}
		if p.Time.After(last) {
			last = p.Time
		}
	}
	if !first.Before(featureCut) {
		return nil, fmt.Errorf("train: no purchases before %s, where the CF validation split starts (%d months before the cut %s); the data start %s",
			featureCut.Format(time.DateOnly), evaluate.ValidationMonths, cfg.Cut.Format(time.DateOnly), first.Format(time.DateOnly))
	}
	lws := labelWindows(cfg.Cut, windows, months)
	if from := lws[len(lws)-1].From; !first.Before(from) {
		return nil, fmt.Errorf("train: the earliest of %d label windows of %d month(s) starts %s, before which there are no purchases (the data start %s): ask for fewer label windows or a later cut",
			windows, months, from.Format(time.DateOnly), first.Format(time.DateOnly))
	}
	start := time.Now()
	step := func(msg string, args ...any) {
		log.Info(msg, append(args, "elapsed", time.Since(start).Round(time.Millisecond))...)
	}

	// 1. CF parameters, on the validation split: fit before featureCut,
	// evaluate on [featureCut, Cut).
	early := dataset.Before(train, featureCut)
	val := evaluate.NewSplit(train, featureCut, cfg.Cut)
	earlyM := evaluate.TrainMatrix(early)
	var (
		report  = Report{FeatureCut: featureCut, ValidationFrom: featureCut}
		best    cf.ALSParams
		bestALS *cf.ALS
		bestVal = -1.0
		fits    = map[cf.ALSParams]*cf.ALS{}
	)
	for i, p := range cfg.Grid {
		key := p
		key.FoldLambda = 0
		als := fits[key]
		if als == nil {
			var err error
			if als, err = cf.FitALS(earlyM, p, nil); err != nil {
				return nil, err
			}
			fits = map[cf.ALSParams]*cf.ALS{key: als}
		}
		als.Params.FoldLambda = p.FoldLambda
		lr, err := als.FoldIn()
		if err != nil {
			return nil, err
		}
		res := evaluate.Evaluate(val, "cf", evaluate.ScorerRecommender(earlyM, lr), 10)
		t := CFTrial{Params: p, AllItems: res.AllItems, NewItems: res.NewItems, Score: (res.AllItems.NDCG + res.NewItems.NDCG) / 2}
		report.CFTrials = append(report.CFTrials, t)
		step("cf grid", "trial", fmt.Sprintf("%d/%d", i+1, len(cfg.Grid)), "factors", p.Factors, "lambda", p.Lambda,
			"alpha", p.Alpha, "fold_lambda", p.FoldLambda, "ndcg_all", round4(res.AllItems.NDCG), "ndcg_new", round4(res.NewItems.NDCG))
		if t.Score > bestVal {
			bestVal, best = t.Score, p
			c := *als
			bestALS = &c
		}
	}
	if bestALS == nil {
		return nil, fmt.Errorf("train: empty CF grid")
	}
	step("cf chosen", "factors", best.Factors, "lambda", best.Lambda, "alpha", best.Alpha, "fold_lambda", best.FoldLambda)

	// 2. Propensity: for each label window, features as of the window's
	// start (a CF fit, the profiles and item stats before it) and labels
	// from what each customer bought in the window. Window w is
	// [Cut − (w+1)·months, Cut − w·months), each boundary counted from Cut
	// so that a cut late in a month leaves no gap; a window starting at
	// featureCut reuses the chosen early CF fit, which is that very fit.
	ds := &propensity.Dataset{Names: features.Names()}
	dsDisc := &propensity.Dataset{Names: features.Names()}
	report.LabelMonths = months
	for _, lw := range lws {
		from, to := lw.From, lw.To
		als := bestALS
		before := dataset.Before(train, from)
		m := evaluate.TrainMatrix(before)
		if !from.Equal(featureCut) {
			var err error
			if als, err = cf.FitALS(m, best, nil); err != nil {
				return nil, err
			}
		}
		custs, err := labelWindow(train, before, m, als, from, to, ds, dsDisc)
		if err != nil {
			return nil, err
		}
		report.LabelWindows = append(report.LabelWindows, LabelWindow{From: from, To: to, Customers: custs})
		step("propensity window", "from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly), "customers", custs, "rows", ds.Rows())
	}
	for _, y := range ds.Labels {
		if y == 1 {
			report.PropensityPos++
		}
	}
	report.PropensityRows = ds.Rows()
	step("propensity examples", "rows", ds.Rows(), "positives", report.PropensityPos, "customer_windows", report.CustomerWindows())
	_, autoDS := ds.Columns(AutoFeatures())
	prop, iters, err := propensity.Fit(autoDS, cfg.Propensity)
	if err != nil {
		return nil, err
	}
	report.PropensityIters = iters
	var served propensity.Predictor = prop
	var trees *propensity.Trees
	if cfg.Trees != nil {
		if trees, err = propensity.FitTrees(autoDS, *cfg.Trees, prop); err != nil {
			return nil, err
		}
		served = trees
	}
	report.PropensityAUC, report.PropensityLogLoss = aucLogLoss(served, autoDS)
	var discProp *propensity.Model
	var discTrees *propensity.Trees
	if cfg.Discover {
		_, discDS := dsDisc.Columns(DiscoverFeatures())
		if discProp, _, err = propensity.Fit(discDS, cfg.Propensity); err != nil {
			return nil, err
		}
		if cfg.Trees != nil {
			if discTrees, err = propensity.FitTrees(discDS, *cfg.Trees, discProp); err != nil {
				return nil, err
			}
		}
		step("discover propensity fitted", "rows", discDS.Rows())
	}
	step("propensity fitted", "iterations", iters, "trees", cfg.Trees != nil, "training_auc", report.PropensityAUC)

	// 3. The served models: CF refitted on everything before Cut, features
	// as of Cut.
	cat := catalog.Build(train)
	m := cf.BuildInteractions(train, cf.NewVocabulary(cat.IDs()))
	als, err := cf.FitALS(m, best, func(it int) { step("cf final fit", "iteration", it, "of", best.Iterations) })
	if err != nil {
		return nil, err
	}
	lr, err := als.FoldIn()
	if err != nil {
		return nil, err
	}
	out := &Models{
		Cut: cfg.Cut, First: first, Last: last,
		Catalog: cat, Vocab: m.Items, Purchases: len(train), ALS: als, CF: lr, Propensity: prop, Trees: trees, DiscoverPropensity: discProp, DiscoverTrees: discTrees,
		Profiles: features.BuildProfiles(train, categoryOf(cat)),
		Items:    itemStats(train, cat, m.Items.IDs(), cfg.Cut),
		Report:   report,
	}
	if err := withNeighbours(out.Items, m); err != nil {
		return nil, err
	}
	step("co-purchase neighbours", "items", len(out.Items))
	step("trained")
	return out, nil
}

// Predictor is the served propensity model: the trees when fitted, else the
// logistic regression; with a discover sub-model, both behind a ModeSplit.
func (m *Models) Predictor() propensity.Predictor {
	auto := m.autoPredictor()
	if m.DiscoverPropensity == nil {
		return auto
	}
	var disc propensity.Predictor = m.DiscoverPropensity
	if m.DiscoverTrees != nil {
		disc = m.DiscoverTrees
	}
	all := features.Names()
	ds := &propensity.Dataset{Names: all}
	autoCols, _ := ds.Columns(auto.Names())
	discCols, _ := ds.Columns(disc.Names())
	modeCol, _ := ds.Columns([]string{ModeFeature})
	return &propensity.ModeSplit{Features: all, ModeColumn: modeCol[0], Auto: auto, Discover: disc,
		AutoColumns: autoCols, DiscoverColumns: discCols}
}

func (m *Models) autoPredictor() propensity.Predictor {
	if m.Trees != nil {
		return m.Trees
	}
	return m.Propensity
}

// ModeFeature is the column that selects the discover sub-model, and
// CoPurchaseFeature the one only that sub-model reads.
const (
	ModeFeature       = "discover_mode"
	CoPurchaseFeature = features.CoPurchaseFeature
)

// AutoFeatures are the columns of the auto-mode sub-model: every feature but
// the mode and the co-purchase share.
func AutoFeatures() []string {
	return slices.DeleteFunc(features.Names(), func(n string) bool { return n == ModeFeature || n == CoPurchaseFeature })
}

// DiscoverFeatures are the columns of the discover-mode sub-model.
func DiscoverFeatures() []string {
	return slices.DeleteFunc(features.Names(), func(n string) bool { return n == ModeFeature })
}

// CoPurchaseLambda is the L2 weight of the EASE fit behind the copurchase
// feature: the λ the EASE baseline chose on validation (benchmarks/quality),
// kept fixed (sixth pass in benchmarks/RESULTS.md).
const CoPurchaseLambda = 200

// withNeighbours sets the co-purchase neighbours of items (vocabulary
// order, m's items) from EASE fitted on m, the purchases before the
// features' reference time: the lists the items file stores for serving.
func withNeighbours(items []features.ItemStats, m *cf.Interactions) error {
	e, err := cf.NewEASE(m, CoPurchaseLambda)
	if err != nil {
		return fmt.Errorf("co-purchase neighbours: %w", err)
	}
	return features.SetCoPurchase(items, m.Items.IDs(), e.Weights(), features.CoPurchaseNeighbours)
}

// Ranker returns the recommender that serves these models.
func (m *Models) Ranker() (*Ranker, error) {
	return NewRanker(m.Vocab, m.CF, m.Predictor(), m.Profiles, m.Items, m.Cut)
}

func itemStats(ps []dataset.Purchase, cat *catalog.Catalog, ids []string, ref time.Time) []features.ItemStats {
	price := func(id string) float64 {
		it, _ := cat.Lookup(id)
		return it.Price
	}
	return features.BuildItemStats(ps, slices.Clone(ids), ref, price, categoryOf(cat))
}

func categoryOf(cat *catalog.Catalog) func(string) string {
	return func(id string) string {
		if it, ok := cat.Lookup(id); ok {
			return it.Category
		}
		return "other"
	}
}

func round4(v float64) float64 { return float64(int(v*1e4+0.5)) / 1e4 }

// labelWindow appends the propensity examples of one label window: the
// candidates the served flow would gather at from, with the CF fit als on
// the purchases before it, labelled by what each customer bought in
// [from, to). It returns how many customers gave examples.
func labelWindow(train, before []dataset.Purchase, m *cf.Interactions, als *cf.ALS, from, to time.Time, ds, disc *propensity.Dataset) (int, error) {
	lr, err := als.FoldIn()
	if err != nil {
		return 0, err
	}
	cat := catalog.Build(before)
	items := itemStats(before, cat, m.Items.IDs(), from)
	profiles := features.BuildProfiles(before, categoryOf(cat))
	if err := withNeighbours(items, m); err != nil {
		return 0, err
	}
	labeler, err := NewRanker(m.Items, lr, nil, profiles, items, from)
	if err != nil {
		return 0, err
	}
	split := evaluate.NewSplit(train, from, to)
	for _, c := range split.Customers {
		truth := make(map[string]struct{})
		for _, id := range split.Truth(c) {
			truth[id] = struct{}{}
		}
		labeler.examples(c, truth, ds, disc)
	}
	return len(split.Customers), nil
}
