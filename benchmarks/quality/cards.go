package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tailorhq/tailor/evaluate"
	"github.com/tailorhq/tailor/trainer"
)

// cardsRun is one evaluation as the model cards record it.
type cardsRun struct {
	Split     *evaluate.Split
	K         int
	Baselines []evaluate.Result
	CFAlone   evaluate.Result
	Served    evaluate.Result
	Models    *trainer.Models // trained at the cut; nil records no versions
	Args      []string
	Now       time.Time
}

// updateCards writes run's figures into the cards in dir, unless dir is
// empty or a flag that changes what is measured (data, split, recipe,
// baselines) is away from its default, which it then says on w.
func updateCards(fs *flag.FlagSet, dir string, run cardsRun, w io.Writer) error {
	if dir == "" {
		return nil
	}
	var moved []string
	fs.VisitAll(func(f *flag.Flag) {
		// Every flag but where the figures are written and whether the
		// server binary is asked too changes what is measured: the data,
		// the split, the recipe or the baselines.
		if f.Name != "results" && f.Name != "cards" && f.Name != "server-bin" && f.Value.String() != f.DefValue {
			moved = append(moved, fmt.Sprintf("-%s=%s", f.Name, f.Value))
		}
	})
	if len(moved) > 0 {
		fmt.Fprintf(w, "quality: the cards in %s are left alone: %s differ from the shipped recipe\n", dir, strings.Join(moved, " "))
		return nil
	}
	if err := writeCards(dir, run); err != nil {
		return fmt.Errorf("cards: %w", err)
	}
	fmt.Fprintf(w, "quality: wrote the validation figures into %s and %s\n",
		filepath.Join(dir, trainer.CFCardFile), filepath.Join(dir, trainer.PropensityCardFile))
	return nil
}

// writeCards sets the validation block of the cf and propensity cards in
// dir: the cf card marks the CF-alone row as its own, the propensity card
// the served flow's. Both cards must describe the model files beside them
// (run `make models` first); neither is written unless both can be.
func writeCards(dir string, run cardsRun) error {
	if len(run.Baselines) == 0 {
		return errors.New("no baseline figures to record beside Tailor's")
	}
	versions, err := evaluatedVersions(run.Models)
	if err != nil {
		return err
	}
	out := map[string][]byte{}
	for _, c := range []struct {
		card, model string
		served      bool // the card's own row: the served flow, else the CF model alone
		what        string
	}{
		{trainer.CFCardFile, trainer.CFFile, false, "the CF model alone"},
		{trainer.PropensityCardFile, trainer.PropensityFile, true,
			"the served flow, in which this propensity model re-ranks the candidates of the CF model (its order fused with the buy-again order)"},
	} {
		path := filepath.Join(dir, c.card)
		card, err := trainer.ReadCard(path)
		if err != nil {
			return err
		}
		if card == nil {
			return fmt.Errorf("%s is missing: run `make models` first", path)
		}
		onnx, err := os.ReadFile(filepath.Join(dir, c.model))
		if err != nil {
			return err
		}
		if trainer.Digest(onnx) != card.SHA256 {
			return fmt.Errorf("%s does not describe %s (sha256 differs): run `make models` first", path, c.model)
		}
		card.Validation = validation(run, c.served, card.Data, c.what)
		card.Validation.Evaluated = versions
		card.ValidationStale = ""
		if out[path], err = trainer.JSONCard(*card); err != nil {
			return err
		}
	}
	var errs []error
	for path, b := range out {
		errs = append(errs, trainer.WriteFile(path, b))
	}
	return errors.Join(errs...)
}

// validation builds one card's block, whose own row is the served flow's
// or (served false) the CF model's alone.
func validation(run cardsRun, served bool, data trainer.CardData, what string) *trainer.Validation {
	s := run.Split
	this := run.CFAlone
	if served {
		this = run.Served
	}
	cut, last := s.Cut.Format(time.DateOnly), s.End.AddDate(0, 0, -1).Format(time.DateOnly)
	bestAll, bestNew := best(run.Baselines, func(r evaluate.Result) float64 { return r.AllItems.NDCG }),
		best(run.Baselines, func(r evaluate.Result) float64 { return r.NewItems.NDCG })
	row := func(r evaluate.Result, kind string, own bool) trainer.ValidationRow {
		return trainer.ValidationRow{
			Method: strings.ReplaceAll(r.Name, "**", ""), Kind: kind, ThisModel: own,
			AllItems: figures(r.AllItems, bestAll.AllItems.NDCG), NewItems: figures(r.NewItems, bestNew.NewItems.NDCG),
			Notes: untimed(r.Notes),
		}
	}
	rows := []trainer.ValidationRow{row(run.Served, trainer.RowTailor, served), row(run.CFAlone, trainer.RowTailor, !served)}
	for _, r := range run.Baselines {
		rows = append(rows, row(r, trainer.RowBaseline, false))
	}
	return &trainer.Validation{
		Statement: fmt.Sprintf("These figures are not measurements of the weights in this file: those were trained on every purchase "+
			"from %s (everything before %s), the test months included, and cannot be validated on data they were trained on. "+
			"They are the figures of the same recipe (this code, its parameters and its tuning on pre-cut data only) "+
			"refitted on purchases before %s and tested on %s to %s, the protocol of DESIGN.md. "+
			"The row marked this_model is this file's model: %s. `%s` reproduces every figure here.",
			data.Range, data.Cut, cut, cut, last, what, trainer.ValidationCommand),
		Command:   trainer.ValidationCommand,
		GoCommand: strings.Join(append([]string{"go run ./benchmarks/quality"}, run.Args[1:]...), " "),
		Date:      run.Now.UTC().Format(time.DateOnly),
		Protocol: trainer.ValidationProtocol{
			TrainBefore: cut, TestFrom: cut, TestTo: last, TrainPurchases: len(s.Train), TestPurchases: len(s.Test), K: run.K,
			Customers: trainer.TaskCounts{AllItems: this.AllItems.Customers, NewItems: this.NewItems.Customers},
			Tasks: "customers with a purchase before the cut and one in the test period; all_items: the truth is every distinct item " +
				"bought in the test period, re-buys included (served flow in mode auto); new_items: items bought before the cut are " +
				"removed from the recommendations and the truth, customers left with none are skipped (served flow in mode discover)",
			Metrics: "means over the task's customers of Recall@k, NDCG@k (binary relevance, ideal DCG over min(|truth|, k)) and HitRate@k; " +
				"ndcg_vs_best_baseline = NDCG / the best baseline's NDCG on the task - 1 (0.05: 5% above it); figures rounded to 4 decimals",
		},
		BestBaseline: trainer.BestBaselines{
			AllItems: trainer.BestBaseline{Method: bestAll.Name, NDCG: round4(bestAll.AllItems.NDCG),
				ThisModelNDCG: round4(this.AllItems.NDCG), ThisModelRelative: relative(this.AllItems.NDCG, bestAll.AllItems.NDCG)},
			NewItems: trainer.BestBaseline{Method: bestNew.Name, NDCG: round4(bestNew.NewItems.NDCG),
				ThisModelNDCG: round4(this.NewItems.NDCG), ThisModelRelative: relative(this.NewItems.NDCG, bestNew.NewItems.NDCG)},
		},
		Methods: rows,
	}
}

// best is the result with the highest score; ties go to the first.
func best(rs []evaluate.Result, score func(evaluate.Result) float64) evaluate.Result {
	b := rs[0]
	for _, r := range rs[1:] {
		if score(r) > score(b) {
			b = r
		}
	}
	return b
}

func figures(m evaluate.Metrics, bestNDCG float64) trainer.TaskFigures {
	return trainer.TaskFigures{Recall: round4(m.Recall), NDCG: round4(m.NDCG), HitRate: round4(m.HitRate), VsBestBaseline: relative(m.NDCG, bestNDCG)}
}

func relative(v, base float64) float64 {
	if base == 0 {
		return 0
	}
	return round4(v/base - 1)
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// untimed drops the timings from a result's notes ("fit 1.2s", "trained
// in 40s"), so re-running the command changes a card only where a figure
// or the date changed.
func untimed(notes string) string {
	var keep []string
	for _, part := range strings.Split(notes, "; ") {
		if strings.HasPrefix(part, "fit ") || strings.Contains(part, " trained in ") {
			continue
		}
		keep = append(keep, part)
	}
	return strings.Join(keep, "; ")
}

// evaluatedVersions names the models trained at the cut by version.
func evaluatedVersions(m *trainer.Models) (map[string]string, error) {
	if m == nil {
		return nil, nil
	}
	cf, err := m.CFArtifact()
	if err != nil {
		return nil, err
	}
	p, err := m.PropensityArtifact()
	if err != nil {
		return nil, err
	}
	return map[string]string{"cf": cf.Version, "propensity": p.Version}, nil
}
