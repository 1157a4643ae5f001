// Command train turns the purchase files into Tailor's models: the ONNX
// collaborative-filtering and propensity models with their cards (in
// -models) and the offline features the server loads (in -features).
//
//	go run ./cmd/train                      # all data, as `make models` does
//	go run ./cmd/train -cut 2011-09-01      # only purchases before the cut
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/propensity"
	"github.com/tailorhq/tailor/trainer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// config is everything train reads from flags and the environment.
type config struct {
	dataDir, modelsDir, featuresDir string
	cut                             time.Time
	verify                          bool
	ortLib                          string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var cut string
	fs.StringVar(&c.dataDir, "data", "data/online-retail", "directory of monthly purchase files (*.csv.gz)")
	fs.StringVar(&c.modelsDir, "models", "models", "where to write the ONNX models and their cards")
	fs.StringVar(&c.featuresDir, "features", "data/features", "where to write the catalog and the offline features")
	fs.StringVar(&cut, "cut", "", "train on purchases before this date (YYYY-MM-DD); default: all of them")
	fs.BoolVar(&c.verify, "verify", true, "load the written models through ONNX Runtime and compare them with the Go computation")
	fs.StringVar(&c.ortLib, "onnxruntime-lib", getenv("TAILOR_ONNXRUNTIME_LIB"), "path of libonnxruntime.so.1 (env TAILOR_ONNXRUNTIME_LIB)")
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if cut != "" {
		t, err := time.Parse(time.DateOnly, cut)
		if err != nil {
			return c, fmt.Errorf("-cut: want YYYY-MM-DD: %w", err)
		}
		c.cut = t
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	start := time.Now()
	if cfg.verify {
		if err := model.InitRuntime(cfg.ortLib); err != nil {
			return fmt.Errorf("%w (or pass -verify=false)", err)
		}
	}
	ps, stats, err := dataset.ReadDir(cfg.dataDir)
	if err != nil {
		return err
	}
	log.Info("read purchases", "files", stats.Files, "rows", stats.Rows, "kept", stats.Kept, "dropped", stats.Dropped)
	cut := cfg.cut
	if cut.IsZero() {
		for _, p := range ps {
			if d := p.Time.Truncate(24*time.Hour).AddDate(0, 0, 1); d.After(cut) {
				cut = d
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := trainer.Train(ps, trainer.Config{Cut: cut, Grid: trainer.DefaultGrid(), Propensity: propensity.DefaultParams(), Trees: trainer.DefaultTrees(), LabelWindows: trainer.DefaultLabelWindows, LabelMonths: trainer.DefaultLabelMonths, Discover: trainer.DefaultDiscover, Logger: log})
	if err != nil {
		return err
	}
	cfArt, propArt, err := m.Build()
	if err != nil {
		return err
	}
	if cfg.verify {
		worst, err := m.Verify(cfArt, propArt, 200)
		if err != nil {
			return err
		}
		log.Info("verified through ONNX Runtime", "runtime", model.RuntimeVersion(), "max_relative_difference", worst)
	}
	arts := []*trainer.Artifact{cfArt, propArt}
	keepValidation(cfg.modelsDir, arts, log)
	files := map[string][]byte{}
	for _, a := range arts {
		card, err := trainer.JSONCard(a.Card)
		if err != nil {
			return err
		}
		files[filepath.Join(cfg.modelsDir, a.File)] = a.ONNX
		files[filepath.Join(cfg.modelsDir, cardFile(a.File))] = card
	}
	feats, err := m.FeatureFiles()
	if err != nil {
		return err
	}
	for name, b := range feats {
		files[filepath.Join(cfg.featuresDir, name)] = b
	}
	var errs []error
	for path, b := range files {
		errs = append(errs, trainer.WriteFile(path, b))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained on %d purchases before %s in %s\n", m.Purchases, cut.Format(time.DateOnly), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  %s  cf@%s (%d items, %d factors)\n", filepath.Join(cfg.modelsDir, cfArt.File), cfArt.Version, m.Vocab.Len(), m.ALS.Params.Factors)
	kind := "logistic"
	if m.Trees != nil {
		kind = fmt.Sprintf("logistic + %d trees", len(m.Trees.Trees))
	}
	if m.DiscoverPropensity != nil {
		kind += fmt.Sprintf("; discover sub-model on %d features", len(m.DiscoverPropensity.Features))
		if m.DiscoverTrees != nil {
			kind += fmt.Sprintf(", logistic + %d trees", len(m.DiscoverTrees.Trees))
		}
	}
	fmt.Fprintf(stdout, "  %s  propensity@%s (%d features, %s)\n", filepath.Join(cfg.modelsDir, propArt.File), propArt.Version, len(m.Predictor().Names()), kind)
	fmt.Fprintf(stdout, "  %s  offline features of %d customers and %d items\n", cfg.featuresDir, len(m.Profiles), len(m.Items))
	return nil
}

func trimExt(name string) string { return name[:len(name)-len(filepath.Ext(name))] }
