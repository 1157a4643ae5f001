// Command quality runs the offline protocol of DESIGN.md: train on purchases
// before 2011-09-01, test on 2011-09-01 to 2011-10-31, top 10, Recall, NDCG
// and HitRate on the all-items and new-items tasks, for every baseline and
// for Tailor's trained models. It writes the table into
// benchmarks/RESULTS.md between the quality markers, and the same figures
// into the validation block of models/cf.card.json and
// models/propensity.card.json (-cards; see cards.go).
//
//	go run ./benchmarks/quality            # as `make evaluate` does
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/tailorhq/tailor/benchmarks/results"
	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/evaluate"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/propensity"
	"github.com/tailorhq/tailor/recommend"
	"github.com/tailorhq/tailor/trainer"
)

const (
	beginMarker = "<!-- quality:begin -->"
	endMarker   = "<!-- quality:end -->"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "quality:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "data/online-retail", "directory of monthly purchase files")
	resultsPath := fs.String("results", "benchmarks/RESULTS.md", "file whose quality section is replaced; empty: print only")
	cutS := fs.String("cut", "2011-09-01", "train before this date")
	endS := fs.String("end", "2011-11-01", "test until this date (exclusive)")
	windows := fs.Int("label-windows", trainer.DefaultLabelWindows, "consecutive label windows, ending at the cut, the propensity model learns from")
	labelMonths := fs.Int("label-months", trainer.DefaultLabelMonths, "months in each label window")
	withTrees := fs.Bool("trees", true, "boost the propensity model's logistic regression with trainer.DefaultTrees (false: logistic alone, for ablations)")
	withBaselines := fs.Bool("baselines", true, "also fit and evaluate every baseline (false: Tailor's rows only, for quick experiments)")
	discover := fs.Bool("discover-model", trainer.DefaultDiscover, "give the propensity model a discover-mode sub-model trained on discover candidates alone, with the co-purchase feature (false: one model for both modes, for ablations)")
	ownWeight := fs.Float64("own-order-weight", recommend.DefaultOwnOrderWeight, "weight of the buy-again order in the served flow's blend (recommend.Config.OwnOrderWeight; negative: the propensity order alone, for ablations)")
	serverBin := fs.String("server-bin", "bin/tailor-serve", "server binary to ask the served flow's questions again over loopback HTTP, which must give the same answers (`make build`); empty: skip that row")
	cardsDir := fs.String("cards", "models", "directory whose cf and propensity cards get the validation figures; empty: leave the cards alone")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cut, err := time.Parse(time.DateOnly, *cutS)
	if err != nil {
		return fmt.Errorf("-cut: %w", err)
	}
	end, err := time.Parse(time.DateOnly, *endS)
	if err != nil {
		return fmt.Errorf("-end: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := model.InitRuntime(getenv("TAILOR_ONNXRUNTIME_LIB")); err != nil {
		return err
	}
	start := time.Now()
	ps, _, err := dataset.ReadDir(*dataDir)
	if err != nil {
		return err
	}
	split := evaluate.NewSplit(ps, cut, end)
	const k = 10
	var rows []evaluate.Result
	if *withBaselines {
		if rows, err = evaluate.Baselines(split, k, func(format string, a ...any) { log.Info(fmt.Sprintf(format, a...)) }); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	trainStart := time.Now()
	cfg := trainer.Config{Cut: cut, Grid: trainer.DefaultGrid(), Propensity: propensity.DefaultParams(), LabelWindows: *windows, LabelMonths: *labelMonths, Logger: log}
	if *withTrees {
		cfg.Trees = trainer.DefaultTrees()
	}
	cfg.Discover = *discover
	m, err := trainer.Train(ps, cfg)
	if err != nil {
		return err
	}
	trainTime := time.Since(trainStart)
	cfOnly := evaluate.Evaluate(split, "Tailor CF alone (ALS fold-in, cf.onnx)", evaluate.ScorerRecommender(evaluate.TrainMatrix(split.Train), m.CF), k)
	p := m.ALS.Params
	cfOnly.Notes = fmt.Sprintf("factors=%d λ=%g α=%g fold λ=%g, chosen on validation", p.Factors, p.Lambda, p.Alpha, p.FoldLambda)
	flow, err := newServed(ctx, m, *ownWeight, log)
	if err != nil {
		return err
	}
	defer flow.close()
	tailor := evaluate.Evaluate(split, "**Tailor: the served flow** (cf.onnx + propensity.onnx, mode auto / discover)", flow, k)
	tailor.Notes = fmt.Sprintf("recommend.Service as the server runs it, models loaded through ONNX Runtime; candidates: top %d CF (%d in discover mode), own items, top %d popular; re-ranked by the propensity model (examples from %d label windows of %d month(s) ending at the cut), its order fused with the buy-again order (weight %g); whole pipeline trained in %s",
		trainer.CFCandidates, trainer.DiscoverCFCandidates, trainer.PopularCandidates, len(m.Report.LabelWindows), m.Report.LabelMonths, *ownWeight, trainTime.Round(time.Second))
	baselines := rows
	rows = append(rows, cfOnly, tailor)
	if *serverBin != "" {
		h, err := startHTTP(ctx, *serverBin, getenv("TAILOR_ONNXRUNTIME_LIB"), flow, cut, *ownWeight)
		if err != nil {
			return err
		}
		defer h.stop()
		viaHTTP := evaluate.Evaluate(split, fmt.Sprintf("Tailor over HTTP (%s on the same models, POST /v1/recommendations)", *serverBin), h, k)
		if err := h.check(); err != nil {
			return err
		}
		viaHTTP.Notes = fmt.Sprintf("%d requests over loopback, every answer identical to the served flow's above", h.requests)
		rows = append(rows, viaHTTP)
	}

	section := report(rows, split, args, time.Since(start))
	fmt.Fprint(stdout, section)
	if *resultsPath != "" {
		if err := results.ReplaceSection(*resultsPath, beginMarker, endMarker, section); err != nil {
			return err
		}
	}
	return updateCards(fs, *cardsDir, cardsRun{Split: split, K: k, Baselines: baselines, CFAlone: cfOnly, Served: tailor,
		Models: m, Args: args, Now: time.Now()}, stderr)
}

// report is the markdown section written into RESULTS.md.
func report(rows []evaluate.Result, split *evaluate.Split, args []string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## Offline quality (DESIGN.md protocol)\n\n", beginMarker)
	fmt.Fprintf(&b, "- Command: `make evaluate` (`go run ./benchmarks/quality%s`)\n", strings.Join(append([]string{""}, args[1:]...), " "))
	fmt.Fprintf(&b, "- Date: %s; machine: %s; %s; took %s\n", time.Now().UTC().Format(time.DateOnly), results.Machine(), runtime.Version(), took.Round(time.Second))
	fmt.Fprintf(&b, "- Split: train before %s (%d purchases), test %s to %s (%d purchases); top 10\n\n",
		split.Cut.Format(time.DateOnly), len(split.Train), split.Cut.Format(time.DateOnly), split.End.AddDate(0, 0, -1).Format(time.DateOnly), len(split.Test))
	b.WriteString(evaluate.MarkdownTable(rows))
	b.WriteString("\nAll items: the truth is every distinct item bought in the test period, re-buys included. " +
		"New items: items bought before the cut are removed from both the recommendations and the truth. " +
		"Every tuned parameter was chosen on a validation split carved from the training period " +
		"(fit before 2011-07-01, validate on July and August 2011), and the recipe's choices were made on the validation windows recorded below, never on the test months " +
		"(one of them, the label windows, under a rule written after the previous recipe's test figures were known; see the fifth pass). " +
		"Tailor's CF-alone row scores with the Go computation of cf.onnx (`trainer` tests hold the ONNX file to the same outputs); " +
		"the served-flow row calls recommend.Service, the code behind POST /v1/recommendations, with the models loaded through ONNX Runtime: " +
		"mode auto for all items, mode discover for new items. " +
		"The over-HTTP row, when present, asks the same questions of bin/tailor-serve started on the same model and feature files " +
		"(recency at the cut, answer cache off, none of the caller's TAILOR_* or OTEL_* variables) and the command fails unless every answer is identical to the served flow's. " +
		"Both give each model call 10 s instead of the server's default 50 ms, so that a busy machine cannot change an answer.\n")
	fmt.Fprintf(&b, "%s\n", endMarker)
	return b.String()
}
